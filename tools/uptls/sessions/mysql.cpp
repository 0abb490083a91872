// MySQL after the SSLRequest: any login is accepted, and `SELECT 1` is
// answered.

#include <string>

#include "ascii.hpp"
#include "sessions/session.hpp"
#include "starttls/mysql_wire.hpp"

namespace uptls::sessions {
namespace {

using namespace detail::mysql;

class MysqlSession final : public Session {
 public:
  using Session::Session;
  std::string_view protocol() const noexcept override { return "mysql"; }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
  void packet(std::uint8_t sequence, std::string_view payload);
  void query(std::string_view text);

  bool logged_in_ = false;
};

std::size_t MysqlSession::on_receive(std::string_view bytes) {
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
  return 4 + length;
}

void MysqlSession::packet(std::uint8_t sequence, std::string_view payload) {
  if (!logged_in_) {
    // HandshakeResponse41: flags (4), max packet (4), charset (1), filler (23), user.
    std::string user =
        payload.size() > 32 ? std::string(payload.substr(32, payload.find('\0', 32) - 32)) : "";
    logged_in_ = true;
    log("mysql login as " + user);
    send(ok_packet(static_cast<std::uint8_t>(sequence + 1)));
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

void MysqlSession::query(std::string_view text) {
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
  log("mysql query: " + std::string(text));
  std::string column = lenenc("def");
  column.append(lenenc("")).append(lenenc("")).append(lenenc("")).append(lenenc(name));
  column.append(lenenc("")).append(1, '\x0c').append(le_bytes(number ? 63 : 45, 2));
  column.append(le_bytes(number ? 1 : 64, 4)).append(1, number ? '\x08' : '\xfd');
  column.append(le_bytes(number ? 0x81 : 0, 2)).append(3, '\0');
  send(packet_of(1, "\x01") + packet_of(2, column) + eof_packet(3) + packet_of(4, lenenc(value)) +
       eof_packet(5));
}

}  // namespace

std::unique_ptr<starttls::Dialogue> mysql_session(const starttls::Learned& handed_over,
                                                  Options options) {
  return std::make_unique<MysqlSession>(handed_over, std::move(options));
}

}  // namespace uptls::sessions
