#include "starttls/ldap.hpp"
#include "starttls/ldap_wire.hpp"

#include <algorithm>

#include "printable.hpp"
#include "starttls/ber.hpp"

namespace uptls::starttls {

using namespace detail::ldap;

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
  std::string problem = read_message(bytes, max_message, message);
  if (!problem.empty()) {
    disconnect("the client sent " + problem);
    return 0;
  }
  if (message.size == 0) return 0;
  if (options_.policy == Policy::opportunistic && message.operation != extended_request) {
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
  switch (operation) {
    case extended_request:
      if (!parsed || fields.empty() || fields[0].tag != 0x80) {
        send(result(id, extended_response, 2, "malformed extended request"));
      } else if (fields[0].value != starttls_oid) {
        send(result(id, extended_response, 2, "unsupported extended operation"));
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
      send(anonymous ? result(id, bind_response, 0, "")
                     : result(id, bind_response, 13, "TLS is required: StartTLS first"));
      return;
    }
    case search_request:
      if (parsed && fields.size() >= 2 && fields[0].value.empty() &&
          fields[1].value == std::string_view("\0", 1)) {
        root_dse(id);
      } else {
        send(result(id, search_done, 13, "TLS is required: StartTLS first"));
      }
      return;
    case unbind_request:
      peer_left();
      return;
    case abandon_request:
      return;
    default:
      disconnect("unsupported operation");
      return;
  }
}

// The root DSE (RFC 4512 §5.1) before TLS: the version, StartTLS, and the
// attributes the application gave as "name: value".
void LdapServer::root_dse(long id) {
  std::string attributes =
      attribute("supportedLDAPVersion", {"3"}) + attribute("supportedExtension", {starttls_oid});
  for (std::string_view capability : options_.capabilities) {
    std::size_t colon = capability.find(':');
    std::string_view value = colon == std::string_view::npos ? "" : capability.substr(colon + 1);
    value.remove_prefix(std::min(value.find_first_not_of(' '), value.size()));
    attributes += attribute(capability.substr(0, colon), {value});
  }
  send(message(id,
               detail::tlv(search_entry, detail::tlv(0x04, "") + detail::tlv(0x30, attributes))));
  send(result(id, search_done, 0, ""));
}

void LdapServer::on_tls() { finish(); }

void LdapServer::on_end_of_input() { peer_left(); }

}  // namespace uptls::starttls
