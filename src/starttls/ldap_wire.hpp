#pragma once
// LDAP's messages (RFC 4511): the operations' tags, results and entries, shared by the dialogues
// and the sessions of uptls serve.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>
#include "printable.hpp"
#include "starttls/ber.hpp"

namespace uptls::detail::ldap {

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

inline std::string result_name(long code) {
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

inline std::string message(long id, std::string_view operation) {
  return detail::tlv(0x30, detail::integer(id) + std::string(operation));
}

/// An LDAPResult-shaped response (RFC 4511 §4.1.9), optionally with a name.
inline std::string result(long id, unsigned char operation, long code, std::string_view diagnostic,
                          std::string_view response_name = {}) {
  std::string body =
      detail::integer(code, 0x0a) + detail::tlv(0x04, "") + detail::tlv(0x04, diagnostic);
  if (!response_name.empty()) body += detail::tlv(0x8a, response_name);
  return message(id, detail::tlv(operation, body));
}

/// An attribute of a search entry: its type and values.
inline std::string attribute(std::string_view type, const std::vector<std::string_view>& values) {
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
inline std::string read_message(std::string_view bytes, std::size_t limit, Message& out) {
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

}  // namespace uptls::detail::ldap
