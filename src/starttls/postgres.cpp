#include "starttls/postgres.hpp"
#include "starttls/postgres_wire.hpp"

#include <algorithm>
#include <cstdint>

#include "ascii.hpp"
#include "printable.hpp"

namespace uptls::starttls {

using namespace detail::postgres;

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
  if (!bytes.empty() && bytes[0] == 0x16) {
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
    // CVE-2021-23214: bytes after the SSLRequest would be read as if they
    // had come over TLS.
    accept_starttls(
        rest, "S", error_response("FATAL", "08P01", "received unencrypted data after SSL request"));
    return length;
  }
  if (code == gss_request) {
    send("N");
    return length;
  }
  if (code == cancel_request) {
    peer_left();
    return length;
  }
  if (code != protocol_3) {
    send_error("FATAL", "0A000", "unsupported frontend protocol");
    fail(errc::protocol_error, "postgres: the client asked for protocol " +
                                   std::to_string(code >> 16) + "." +
                                   std::to_string(code & 0xffff));
    return length;
  }
  if (options_.policy == Policy::required) {
    send_error("FATAL", "28000", "TLS is required: connect with sslmode=require or stronger");
    fail(errc::starttls_unavailable,
         "postgres: the client sent its startup message in plaintext; TLS is required");
    return length;
  }
  // Plaintext was allowed: the application serves the startup message.
  finish();
  return 0;
}

// The client sends its startup message over TLS, to the application.
void PostgresServer::on_tls() { finish(); }

void PostgresServer::on_end_of_input() { peer_left(); }

}  // namespace uptls::starttls
