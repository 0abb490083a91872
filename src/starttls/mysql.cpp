#include "starttls/mysql.hpp"
#include "starttls/mysql_wire.hpp"

#include "ascii.hpp"
#include "printable.hpp"

namespace uptls::starttls {

using namespace detail::mysql;

// ---- client ---------------------------------------------------------------

MysqlClient::MysqlClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {}

std::string_view MysqlClient::protocol() const noexcept { return "mysql"; }

std::size_t MysqlClient::on_receive(std::string_view bytes) {
  if (bytes.size() < 4) return 0;
  std::size_t length = le(bytes, 3);
  if (length > max_packet) {
    fail(errc::protocol_error, "mysql: the server sent a packet of " + std::to_string(length) +
                                   " bytes as its greeting (" + detail::printable(bytes) + ")");
    return 0;
  }
  if (bytes.size() < 4 + length) return 0;
  std::string_view payload = bytes.substr(4, length);
  if (!payload.empty() && static_cast<std::uint8_t>(payload[0]) == 0xff) {
    std::string_view message = payload.size() > 3 ? payload.substr(3) : std::string_view();
    if (!message.empty() && message[0] == '#')
      message.remove_prefix(std::min<std::size_t>(6, message.size()));
    fail(errc::protocol_error,
         "mysql: the server refused the connection: error " +
             std::to_string(payload.size() >= 3 ? le(payload.substr(1), 2) : 0) + " " +
             detail::printable(message, 300));
    return 4 + length;
  }
  if (payload.empty() || payload[0] != 10) {
    fail(errc::protocol_error, "mysql: not a MySQL greeting (" + detail::printable(bytes) + ")");
    return 0;
  }
  std::size_t version_end = payload.find('\0', 1);
  // version, NUL, connection id (4), scramble (8), filler (1), capabilities (2)
  if (version_end == std::string_view::npos || payload.size() < version_end + 1 + 4 + 8 + 1 + 2) {
    fail(errc::protocol_error, "mysql: a greeting too short (" + detail::printable(bytes) + ")");
    return 0;
  }
  learned_.greeting = std::string(payload.substr(1, version_end - 1));
  std::size_t at = version_end + 1 + 4 + 8 + 1;
  std::uint32_t capabilities = le(payload.substr(at), 2);
  if (payload.size() >= at + 2 + 1 + 2 + 2) capabilities |= le(payload.substr(at + 5), 2) << 16;
  if (!(capabilities & client_ssl)) {
    unavailable(options_.policy, "the server " + learned_.greeting +
                                     " does not offer SSL (no CLIENT_SSL in its greeting)");
    return 4 + length;
  }
  std::uint32_t flags = client_long_password | client_protocol_41 | client_ssl |
                        client_transactions | client_secure_connection | client_multi_results |
                        client_plugin_auth;
  std::string request = le_bytes(flags, 4);
  request.append(le_bytes(16 * 1024 * 1024, 4)).append(1, '\x2d').append(23, '\0');
  send(packet_of(1, request));
  upgrade();
  return 4 + length;
}

void MysqlClient::on_tls() { finish(); }

// ---- server ---------------------------------------------------------------

MysqlServer::MysqlServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)) {
  std::uint32_t capabilities = client_long_password | client_connect_with_db | client_protocol_41 |
                               client_ssl | client_transactions | client_secure_connection |
                               client_multi_results | client_plugin_auth;
  std::string greeting = "\x0a";
  greeting.append(options_.greeting.empty() ? "8.0.0-uptls" : options_.greeting).append(1, '\0');
  greeting.append(le_bytes(1, 4)).append("uptlsabc").append(1, '\0');
  greeting.append(le_bytes(capabilities & 0xffff, 2)).append(1, '\x2d').append(le_bytes(2, 2));
  greeting.append(le_bytes(capabilities >> 16, 2)).append(1, '\x15').append(10, '\0');
  greeting.append("defghijklmno").append(1, '\0').append("mysql_native_password").append(1, '\0');
  send(packet_of(0, greeting));
}

std::string_view MysqlServer::protocol() const noexcept { return "mysql"; }

std::size_t MysqlServer::on_receive(std::string_view bytes) {
  if (bytes.size() < 4) return 0;
  std::size_t length = le(bytes, 3);
  if (length > max_packet) {
    send(err_packet(static_cast<std::uint8_t>(bytes[3] + 1), 1153, "packet too large"));
    fail(errc::protocol_error,
         "mysql: the client sent a packet of " + std::to_string(length) + " bytes");
    return 0;
  }
  if (bytes.size() < 4 + length) return 0;
  auto sequence = static_cast<std::uint8_t>(bytes[3]);
  std::string_view payload = bytes.substr(4, length);
  std::uint32_t flags = payload.size() >= 4 ? le(payload, 4) : 0;
  if (payload.size() == 32 && (flags & client_ssl)) {
    // The server does not answer an SSLRequest: the client's ClientHello
    // follows it at once, and whatever follows goes to the handshake
    // (plaintext there fails it; it is never read as a command).
    upgrade_feeding_handshake();
    return 4 + length;
  }
  if (options_.policy == Policy::required) {
    send(err_packet(static_cast<std::uint8_t>(sequence + 1), 3159,
                    "Connections using insecure transport are prohibited (TLS is required)"));
    fail(errc::starttls_unavailable, "mysql: the client logged in without TLS, which is required");
    return 4 + length;
  }
  // Plaintext was allowed: the application serves this login.
  finish();
  return 0;
}

// The client's login comes over TLS, to the application.
void MysqlServer::on_tls() { finish(); }

void MysqlServer::on_end_of_input() { peer_left(); }

}  // namespace uptls::starttls
