#include "uptls/starttls/mysql.hpp"

#include "ascii.hpp"
#include "printable.hpp"

namespace uptls::starttls {
namespace {

constexpr std::uint32_t client_long_password = 0x1;
constexpr std::uint32_t client_connect_with_db = 0x8;
constexpr std::uint32_t client_protocol_41 = 0x200;
constexpr std::uint32_t client_ssl = 0x800;
constexpr std::uint32_t client_transactions = 0x2000;
constexpr std::uint32_t client_secure_connection = 0x8000;
constexpr std::uint32_t client_multi_results = 0x20000;
constexpr std::uint32_t client_plugin_auth = 0x80000;
constexpr std::size_t max_packet = 1024 * 1024;

std::uint32_t le(std::string_view bytes, std::size_t n) {
  std::uint32_t value = 0;
  for (std::size_t i = n; i-- > 0;) value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
  return value;
}

std::string le_bytes(std::uint32_t value, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i, value >>= 8) out += static_cast<char>(value & 0xff);
  return out;
}

// Strings are built with append: GCC 12 warns (-Wrestrict) on char + string.
std::string packet_of(std::uint8_t sequence, std::string_view payload) {
  std::string out = le_bytes(static_cast<std::uint32_t>(payload.size()), 3);
  out.append(1, static_cast<char>(sequence)).append(payload);
  return out;
}

/// A length-encoded string (short ones only: under 251 bytes).
std::string lenenc(std::string_view text) {
  std::string out(1, static_cast<char>(text.size()));
  return out.append(text);
}

std::string ok_packet(std::uint8_t sequence) {
  return packet_of(sequence, std::string("\x00\x00\x00\x02\x00\x00\x00", 7));
}

std::string err_packet(std::uint8_t sequence, std::uint16_t code, std::string_view text) {
  std::string payload(1, '\xff');
  payload.append(le_bytes(code, 2)).append("#HY000").append(text);
  return packet_of(sequence, payload);
}

std::string eof_packet(std::uint8_t sequence) {
  return packet_of(sequence, std::string("\xfe\x00\x00\x02\x00", 5));
}

}  // namespace

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
  greeting.append("8.0.0-uptls").append(1, '\0');
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
  if (length > std::min(max_packet, options_.max_message)) {
    send(err_packet(static_cast<std::uint8_t>(bytes[3] + 1), 1153, "packet too large"));
    fail(errc::protocol_error,
         "mysql: the client sent a packet of " + std::to_string(length) + " bytes");
    return 0;
  }
  if (bytes.size() < 4 + length) return 0;
  packet(static_cast<std::uint8_t>(bytes[3]), bytes.substr(4, length));
  return next() == Next::done && !options_.session && !learned_.tls ? 0 : 4 + length;
}

void MysqlServer::packet(std::uint8_t sequence, std::string_view payload) {
  auto next_sequence = static_cast<std::uint8_t>(sequence + 1);
  if (!logged_in_) {
    std::uint32_t flags = payload.size() >= 4 ? le(payload, 4) : 0;
    bool ssl_request = payload.size() == 32 && (flags & client_ssl);
    if (ssl_request && !learned_.tls) {
      // The server does not answer an SSLRequest: the client's ClientHello
      // follows it at once, and whatever follows goes to the handshake
      // (plaintext there fails it; it is never read as a command).
      upgrade_feeding_handshake();
      return;
    }
    if (!learned_.tls && options_.policy == Policy::required) {
      send(err_packet(next_sequence, 3159,
                      "Connections using insecure transport are prohibited (TLS is required)"));
      fail(errc::starttls_unavailable,
           "mysql: the client logged in without TLS, which is required");
      return;
    }
    if (!options_.session) {
      // Plaintext was allowed: the application serves this login.
      finish();
      return;
    }
    // HandshakeResponse41: flags (4), max packet (4), charset (1), filler (23), user.
    std::string user =
        payload.size() > 32 ? std::string(payload.substr(32, payload.find('\0', 32) - 32)) : "";
    logged_in_ = true;
    if (options_.log) options_.log("mysql login as " + user);
    send(ok_packet(next_sequence));
    return;
  }
  if (payload.empty()) return;
  switch (payload[0]) {
    case 0x01:  // COM_QUIT
      finish();
      return;
    case 0x03:  // COM_QUERY
      query(payload.substr(1));
      return;
    case 0x02:  // COM_INIT_DB
    case 0x0e:  // COM_PING
      send(ok_packet(1));
      return;
    default:
      send(err_packet(1, 1047, "uptls serves COM_QUERY, COM_PING, COM_INIT_DB and COM_QUIT"));
      return;
  }
}

void MysqlServer::query(std::string_view text) {
  std::string normalized = detail::ascii_lower(text);
  while (!normalized.empty() && (normalized.back() == ';' || normalized.back() == ' ')) {
    normalized.pop_back();
  }
  std::string name;
  std::string value;
  bool number = false;
  if (normalized == "select 1") {
    name = "1";
    value = "1";
    number = true;
  } else if (normalized == "select @@version_comment limit 1") {
    name = "@@version_comment";
    value = "uptls";
  } else {
    send(err_packet(1, 1105, "uptls answers SELECT 1 and nothing else"));
    return;
  }
  if (options_.log) options_.log("mysql query: " + std::string(text));
  std::string column = lenenc("def");
  column.append(lenenc("")).append(lenenc("")).append(lenenc("")).append(lenenc(name));
  column.append(lenenc("")).append(1, '\x0c').append(le_bytes(number ? 63 : 45, 2));
  column.append(le_bytes(number ? 1 : 64, 4)).append(1, number ? '\x08' : '\xfd');
  column.append(le_bytes(number ? 0x81 : 0, 2)).append(3, '\0');
  send(packet_of(1, "\x01") + packet_of(2, column) + eof_packet(3) + packet_of(4, lenenc(value)) +
       eof_packet(5));
}

void MysqlServer::on_tls() {
  if (!options_.session) finish();
}

void MysqlServer::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
