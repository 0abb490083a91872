// PostgreSQL after the SSLRequest: any user is let in without a password,
// and `SELECT 1` is answered.

#include <string>
#include <utility>

#include "ascii.hpp"
#include "sessions/session.hpp"
#include "starttls/postgres_wire.hpp"

namespace uptls::sessions {
namespace {

using namespace detail::postgres;

class PostgresSession final : public Session {
 public:
  using Session::Session;
  std::string_view protocol() const noexcept override { return "postgres"; }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
  std::size_t startup(std::string_view bytes);
  void query(std::string_view text);

  bool started_ = false;  // the startup message was answered
};

std::size_t PostgresSession::on_receive(std::string_view bytes) {
  if (!started_) return startup(bytes);
  // Messages after the startup: a type byte and a length.
  if (bytes.size() < 5) return 0;
  std::uint32_t length = be32(bytes.substr(1));
  if (length < 4 || length > options_.max_message) {
    send(error_response("FATAL", "08P01", "invalid message length"));
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
      send(error_response("ERROR", "0A000", "uptls serves the simple query protocol only"));
      send(message('Z', "I"));
      break;
  }
  return length + 1;
}

std::size_t PostgresSession::startup(std::string_view bytes) {
  if (bytes.size() < 8) return 0;
  std::uint32_t length = be32(bytes);
  std::uint32_t code = be32(bytes.substr(4));
  if (length < 8 || length > max_startup || code != protocol_3) {
    send(error_response("FATAL", "08P01", "a startup message was due"));
    fail(errc::protocol_error, "postgres: the client sent no startup message over TLS");
    return 0;
  }
  if (bytes.size() < length) return 0;
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
  started_ = true;
  log("postgres login as " + user);
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

void PostgresSession::query(std::string_view text) {
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
    log("postgres query: SELECT 1");
  } else {
    send(error_response("ERROR", "0A000", "uptls answers SELECT 1 and nothing else"));
  }
  send(message('Z', "I"));
}

}  // namespace

std::unique_ptr<starttls::Dialogue> postgres_session(const starttls::Learned& handed_over,
                                                     Options options) {
  return std::make_unique<PostgresSession>(handed_over, std::move(options));
}

}  // namespace uptls::sessions
