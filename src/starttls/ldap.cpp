#include "uptls/starttls/ldap.hpp"

#include <algorithm>

#include "printable.hpp"
#include "starttls/ber.hpp"

namespace uptls::starttls {
namespace {

constexpr std::string_view starttls_oid = "1.3.6.1.4.1.1466.20037";
constexpr std::string_view disconnection_oid = "1.3.6.1.4.1.1466.20036";
constexpr std::size_t max_message = 1024 * 1024;

// Protocol operations (RFC 4511 §4.2 and on): [APPLICATION n] tags.
constexpr unsigned char bind_request = 0x60;
constexpr unsigned char bind_response = 0x61;
constexpr unsigned char unbind_request = 0x42;
constexpr unsigned char search_request = 0x63;
constexpr unsigned char search_entry = 0x64;
constexpr unsigned char search_done = 0x65;
constexpr unsigned char abandon_request = 0x50;
constexpr unsigned char extended_request = 0x77;
constexpr unsigned char extended_response = 0x78;

std::string result_name(long code) {
  switch (code) {
    case 0:
      return "success";
    case 1:
      return "operationsError";
    case 2:
      return "protocolError";
    case 7:
      return "authMethodNotSupported";
    case 13:
      return "confidentialityRequired";
    case 32:
      return "noSuchObject";
    case 51:
      return "busy";
    case 52:
      return "unavailable";
    case 53:
      return "unwillingToPerform";
    default:
      return "resultCode " + std::to_string(code);
  }
}

std::string message(long id, std::string_view operation) {
  return detail::tlv(0x30, detail::integer(id) + std::string(operation));
}

/// An LDAPResult-shaped response (RFC 4511 §4.1.9), optionally with a name.
std::string result(long id, unsigned char operation, long code, std::string_view diagnostic,
                   std::string_view response_name = {}) {
  std::string body =
      detail::integer(code, 0x0a) + detail::tlv(0x04, "") + detail::tlv(0x04, diagnostic);
  if (!response_name.empty()) body += detail::tlv(0x8a, response_name);
  return message(id, detail::tlv(operation, body));
}

/// An attribute of a search entry: its type and values.
std::string attribute(std::string_view type, const std::vector<std::string_view>& values) {
  std::string set;
  for (auto value : values) set += detail::tlv(0x04, value);
  return detail::tlv(0x30, detail::tlv(0x04, type) + detail::tlv(0x31, set));
}

/// An LDAPMessage (RFC 4511 §4.2): its id, its operation's tag and body.
struct Message {
  long id = 0;
  unsigned char operation = 0;
  std::string_view body;
  std::size_t size = 0;  // 0 while incomplete
};

/// Reads the message at the front of bytes; returns what is wrong with
/// them (for "... sent <that>"), empty when they are a message or its start.
std::string read_message(std::string_view bytes, std::size_t limit, Message& out) {
  detail::Tlv outer;
  switch (bytes.empty() || bytes[0] == 0x30 ? detail::read_tlv(bytes, outer, limit)
                                            : detail::BerRead::invalid) {
    case detail::BerRead::need_more:
      return {};
    case detail::BerRead::too_large:
      return "a message larger than " + std::to_string(limit) + " bytes";
    case detail::BerRead::invalid:
      return "something that is not an LDAP message (" + detail::printable(bytes) + ")";
    case detail::BerRead::ok:
      break;
  }
  std::vector<detail::Tlv> parts;
  if (!detail::read_all(outer.value, parts) || parts.size() < 2 || parts[0].tag != 0x02 ||
      !detail::read_integer(parts[0].value, out.id) || out.id < 0) {
    return "a malformed LDAP message (" + detail::printable(bytes.substr(0, outer.size)) + ")";
  }
  out.operation = parts[1].tag;
  out.body = parts[1].value;
  out.size = outer.size;
  return {};
}

}  // namespace

// ---- client ---------------------------------------------------------------

LdapClient::LdapClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {
  send(message(1, detail::tlv(extended_request, detail::tlv(0x80, starttls_oid))));
}

std::string_view LdapClient::protocol() const noexcept { return "ldap"; }

std::size_t LdapClient::on_receive(std::string_view bytes) {
  Message message;
  std::string problem = read_message(bytes, max_message, message);
  if (!problem.empty()) {
    fail(errc::protocol_error, "ldap: the server sent " + problem);
    return 0;
  }
  if (message.size == 0) return 0;
  on_message(message.id, message.operation, message.body);
  return message.size;
}

void LdapClient::on_message(long id, unsigned char operation, std::string_view body) {
  std::vector<detail::Tlv> fields;
  bool parsed = detail::read_all(body, fields);
  if (id == 0 && operation == extended_response) {
    std::string diagnostic = fields.size() >= 3 ? std::string(fields[2].value) : std::string();
    fail(errc::protocol_error, "ldap: the server ended the session (notice of disconnection): " +
                                   detail::printable(diagnostic, 300));
    return;
  }
  if (state_ == State::starttls) {
    long code = -1;
    if (id != 1 || operation != extended_response || !parsed || fields.size() < 3 ||
        fields[0].tag != 0x0a || !detail::read_integer(fields[0].value, code)) {
      fail(errc::protocol_error,
           "ldap: the server sent something other than the response to StartTLS");
      return;
    }
    if (code != 0) {
      unavailable(options_.policy, "the server refused StartTLS: " + result_name(code) + " (" +
                                       detail::printable(fields[2].value, 300) + ")");
      return;
    }
    upgrade();
    return;
  }
  if (id != 2) {
    fail(errc::protocol_error, "ldap: a response to message " + std::to_string(id) +
                                   " where one to the root DSE search was due");
    return;
  }
  if (operation == search_entry && parsed && fields.size() >= 2) {
    std::vector<detail::Tlv> attributes;
    if (!detail::read_all(fields[1].value, attributes)) return;
    for (const auto& attribute_tlv : attributes) {
      std::vector<detail::Tlv> pair;
      std::vector<detail::Tlv> values;
      if (!detail::read_all(attribute_tlv.value, pair) || pair.size() != 2 ||
          !detail::read_all(pair[1].value, values)) {
        continue;
      }
      for (const auto& value : values) {
        if (learned_.capabilities.size() < options_.max_reply_lines) {
          learned_.capabilities.push_back(std::string(pair[0].value) + ": " +
                                          std::string(value.value));
        }
      }
    }
  } else if (operation == search_done) {
    // A server that keeps its root DSE from anonymous readers has told us
    // nothing more; TLS is up either way.
    finish();
  }
}

void LdapClient::on_tls() {
  learned_.capabilities.clear();
  // The root DSE (RFC 4512 §5.1): base "", scope base, (objectClass=*).
  std::string attributes;
  for (std::string_view name : {"supportedLDAPVersion", "supportedExtension",
                                "supportedSASLMechanisms", "vendorName", "vendorVersion"}) {
    attributes += detail::tlv(0x04, name);
  }
  std::string search = detail::tlv(0x04, "") + detail::integer(0, 0x0a) + detail::integer(0, 0x0a) +
                       detail::integer(0) + detail::integer(0) +
                       detail::tlv(0x01, std::string(1, '\0')) + detail::tlv(0x87, "objectClass") +
                       detail::tlv(0x30, attributes);
  send(message(2, detail::tlv(search_request, search)));
  state_ = State::root_dse;
}

// ---- server ---------------------------------------------------------------

LdapServer::LdapServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)) {}

std::string_view LdapServer::protocol() const noexcept { return "ldap"; }

void LdapServer::disconnect(std::string reason) {
  send(result(0, extended_response, 2, reason, disconnection_oid));
  fail(errc::protocol_error, "ldap: " + reason);
}

std::size_t LdapServer::on_receive(std::string_view bytes) {
  Message message;
  std::string problem = read_message(bytes, std::min(max_message, options_.max_message), message);
  if (!problem.empty()) {
    disconnect("the client sent " + problem);
    return 0;
  }
  if (message.size == 0) return 0;
  if (!learned_.tls && options_.policy == Policy::opportunistic && !options_.session &&
      message.operation != extended_request) {
    // Plaintext was allowed: the application serves this request.
    finish();
    return 0;
  }
  on_message(message.id, message.operation, message.body, bytes.substr(message.size));
  return message.size;
}

void LdapServer::on_message(long id, unsigned char operation, std::string_view body,
                            std::string_view rest) {
  std::vector<detail::Tlv> fields;
  bool parsed = detail::read_all(body, fields);
  bool plaintext_refused = !learned_.tls && options_.policy == Policy::required;
  switch (operation) {
    case extended_request:
      if (!parsed || fields.empty() || fields[0].tag != 0x80) {
        send(result(id, extended_response, 2, "malformed extended request"));
      } else if (fields[0].value != starttls_oid) {
        send(result(id, extended_response, 2, "unsupported extended operation"));
      } else if (learned_.tls) {
        send(result(id, extended_response, 1, "TLS is already active"));
      } else {
        accept_starttls(
            rest, result(id, extended_response, 0, "", starttls_oid),
            result(id, extended_response, 1, "request pipelined after StartTLS; closing"));
      }
      return;
    case bind_request: {
      // An anonymous bind carries no secret: allowed before TLS, so that a
      // client can read the root DSE and find StartTLS there.
      bool anonymous = parsed && fields.size() >= 3 && fields[1].value.empty() &&
                       fields[2].tag == 0x80 && fields[2].value.empty();
      if (plaintext_refused && !anonymous) {
        send(result(id, bind_response, 13, "TLS is required: StartTLS first"));
        return;
      }
      std::string name = parsed && fields.size() >= 2 ? std::string(fields[1].value) : "";
      if (options_.log) options_.log("ldap bind as \"" + name + "\"");
      send(result(id, bind_response, 0, ""));
      return;
    }
    case search_request: {
      bool root_dse = parsed && fields.size() >= 2 && fields[0].value.empty() &&
                      fields[1].value == std::string_view("\0", 1);
      if (!root_dse) {
        send(result(
            id, search_done, plaintext_refused ? 13 : 32,
            plaintext_refused ? "TLS is required: StartTLS first" : "this directory is empty"));
        return;
      }
      std::string attributes = attribute("supportedLDAPVersion", {"3"}) +
                               attribute("vendorName", {"uptls"}) + attribute("namingContexts", {});
      if (!learned_.tls) attributes += attribute("supportedExtension", {starttls_oid});
      send(message(
          id, detail::tlv(search_entry, detail::tlv(0x04, "") + detail::tlv(0x30, attributes))));
      send(result(id, search_done, 0, ""));
      return;
    }
    case unbind_request:
      finish();
      return;
    case abandon_request:
      return;
    default:
      disconnect("unsupported operation");
      return;
  }
}

void LdapServer::on_tls() {
  if (!options_.session) finish();
}

void LdapServer::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
