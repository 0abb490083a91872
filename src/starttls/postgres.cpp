#include "uptls/starttls/postgres.hpp"

#include <algorithm>
#include <cstdint>

#include "ascii.hpp"
#include "printable.hpp"

namespace uptls::starttls {
namespace {

constexpr std::uint32_t ssl_request = 80877103;
constexpr std::uint32_t gss_request = 80877104;
constexpr std::uint32_t cancel_request = 80877102;
constexpr std::uint32_t protocol_3 = 196608;
constexpr std::size_t max_startup = 10000;  // PostgreSQL's MAX_STARTUP_PACKET_LENGTH

std::uint32_t be32(std::string_view bytes) {
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < 4; ++i) n = (n << 8) | static_cast<std::uint8_t>(bytes[i]);
  return n;
}

std::string int32(std::uint32_t n) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i, n >>= 8)
    out[static_cast<std::size_t>(i)] = static_cast<char>(n & 0xff);
  return out;
}

std::string int16(std::uint16_t n) {
  return {static_cast<char>(n >> 8), static_cast<char>(n & 0xff)};
}

/// A backend message: its type, its length, its body.
std::string message(char type, std::string_view body) {
  return std::string(1, type) + int32(static_cast<std::uint32_t>(body.size() + 4)) +
         std::string(body);
}

std::string cstring(std::string_view text) { return std::string(text) + '\0'; }

/// An ErrorResponse: the severity, the SQLSTATE code, the message.
std::string error_response(std::string_view severity, std::string_view code,
                           std::string_view text) {
  std::string body;
  // Appended one by one: GCC 12 warns (-Wrestrict) on "S" + std::string.
  body.append(1, 'S').append(severity).append(1, '\0');
  body.append(1, 'V').append(severity).append(1, '\0');
  body.append(1, 'C').append(code).append(1, '\0');
  body.append(1, 'M').append(text).append(1, '\0');
  body.append(1, '\0');
  return message('E', body);
}

}  // namespace

// ---- client ---------------------------------------------------------------

PostgresClient::PostgresClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {
  send(int32(8) + int32(ssl_request));
}

std::string_view PostgresClient::protocol() const noexcept { return "postgres"; }

std::size_t PostgresClient::on_receive(std::string_view bytes) {
  if (bytes.empty()) return 0;
  switch (bytes[0]) {
    case 'S':
      upgrade();
      return 1;
    case 'N':
      unavailable(options_.policy,
                  "the server does not accept SSL (it answered the SSLRequest "
                  "with N: ssl = off)");
      return 1;
    case 'E': {
      // A server from before protocol 3.0, or one that refuses: its error
      // message follows; quote what arrived.
      fail(errc::protocol_error, "postgres: the server answered the SSLRequest with an error (" +
                                     detail::printable(bytes, 300) + ")");
      return 1;
    }
    default:
      fail(errc::protocol_error, "postgres: the server answered the SSLRequest with " +
                                     detail::printable(bytes) +
                                     " (neither S nor N): not a PostgreSQL server?");
      return 0;
  }
}

void PostgresClient::on_tls() { finish(); }

// ---- server ---------------------------------------------------------------

PostgresServer::PostgresServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)) {}

std::string_view PostgresServer::protocol() const noexcept { return "postgres"; }

void PostgresServer::send_error(std::string_view severity, std::string_view code,
                                std::string_view text) {
  send(error_response(severity, code, text));
}

std::size_t PostgresServer::on_receive(std::string_view bytes) {
  if (!started_) return startup(bytes);
  // Messages after the startup: a type byte and a length.
  if (bytes.size() < 5) return 0;
  std::uint32_t length = be32(bytes.substr(1));
  if (length < 4 || length > options_.max_message) {
    send_error("FATAL", "08P01", "invalid message length");
    fail(errc::protocol_error,
         "postgres: the client sent a message of length " + std::to_string(length));
    return 0;
  }
  if (bytes.size() < length + 1) return 0;
  std::string_view body = bytes.substr(5, length - 4);
  switch (bytes[0]) {
    case 'Q':
      query(body.substr(0, body.find('\0')));
      break;
    case 'X':
      finish();
      break;
    default:
      send_error("ERROR", "0A000", "uptls serves the simple query protocol only");
      send(message('Z', "I"));
      break;
  }
  return length + 1;
}

std::size_t PostgresServer::startup(std::string_view bytes) {
  if (!bytes.empty() && bytes[0] == 0x16 && !learned_.tls) {
    // PostgreSQL 17's direct TLS: a ClientHello from the first byte.
    upgrade_feeding_handshake();
    return 0;
  }
  if (bytes.size() < 8) return 0;
  std::uint32_t length = be32(bytes);
  if (length < 8 || length > max_startup) {
    send_error("FATAL", "08P01", "invalid length of startup packet");
    fail(errc::protocol_error, "postgres: the client sent a startup packet of length " +
                                   std::to_string(length) + " (" + detail::printable(bytes) + ")");
    return 0;
  }
  if (bytes.size() < length) return 0;
  std::uint32_t code = be32(bytes.substr(4));
  std::string_view rest = bytes.substr(length);
  if (code == ssl_request) {
    if (learned_.tls) {
      send_error("FATAL", "08P01", "SSLRequest over TLS");
      fail(errc::protocol_error, "postgres: the client sent an SSLRequest over TLS");
    } else {
      // CVE-2021-23214: bytes after the SSLRequest would be read as if they
      // had come over TLS.
      accept_starttls(
          rest, "S",
          error_response("FATAL", "08P01", "received unencrypted data after SSL request"));
    }
    return length;
  }
  if (code == gss_request) {
    send("N");
    return length;
  }
  if (code == cancel_request) {
    finish();
    return length;
  }
  if (code != protocol_3) {
    send_error("FATAL", "0A000", "unsupported frontend protocol");
    fail(errc::protocol_error, "postgres: the client asked for protocol " +
                                   std::to_string(code >> 16) + "." +
                                   std::to_string(code & 0xffff));
    return length;
  }
  // The startup message: pairs of names and values.
  std::string user;
  std::string_view pairs = bytes.substr(8, length - 8);
  while (!pairs.empty() && pairs[0] != '\0') {
    std::string_view name = pairs.substr(0, pairs.find('\0'));
    pairs.remove_prefix(std::min(name.size() + 1, pairs.size()));
    std::string_view value = pairs.substr(0, pairs.find('\0'));
    pairs.remove_prefix(std::min(value.size() + 1, pairs.size()));
    if (name == "user") user = std::string(value);
  }
  if (!learned_.tls && options_.policy == Policy::required) {
    send_error("FATAL", "28000", "TLS is required: connect with sslmode=require or stronger");
    fail(errc::starttls_unavailable,
         "postgres: the client sent its startup message in plaintext; TLS is required");
    return length;
  }
  if (!options_.session) {
    // Plaintext was allowed: the application serves the startup message.
    finish();
    return 0;
  }
  started_ = true;
  if (options_.log) options_.log("postgres login as " + user);
  std::string out = message('R', int32(0));
  for (auto [name, value] : {std::pair{"server_version", "15.0 (uptls)"},
                             {"server_encoding", "UTF8"},
                             {"client_encoding", "UTF8"},
                             {"DateStyle", "ISO, MDY"},
                             {"integer_datetimes", "on"},
                             {"standard_conforming_strings", "on"},
                             {"TimeZone", "UTC"}}) {
    out += message('S', cstring(name) + cstring(value));
  }
  out += message('K', int32(1) + int32(1));
  out += message('Z', "I");
  send(out);
  return length;
}

void PostgresServer::query(std::string_view text) {
  std::string normalized;
  for (char c : text) {
    if (c != ';') normalized += detail::ascii_lower(c);
  }
  while (!normalized.empty() && normalized.back() == ' ') normalized.pop_back();
  while (!normalized.empty() && normalized.front() == ' ') normalized.erase(0, 1);
  if (normalized == "select 1") {
    std::string column = cstring("?column?") + int32(0) + int16(0) + int32(23) + int16(4) +
                         int32(0xffffffff) + int16(0);
    send(message('T', int16(1) + column) + message('D', int16(1) + int32(1) + "1") +
         message('C', cstring("SELECT 1")));
    if (options_.log) options_.log("postgres query: SELECT 1");
  } else {
    send_error("ERROR", "0A000", "uptls answers SELECT 1 and nothing else");
  }
  send(message('Z', "I"));
}

void PostgresServer::on_tls() {
  if (!options_.session) finish();
}

void PostgresServer::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
