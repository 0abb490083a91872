// FTP's client steps after STARTTLS: CCC and passive downloads.

#include "uptls/ftp.hpp"

#include <cstdlib>
#include <vector>

#include "uptls/connect.hpp"
#include "uptls/error.hpp"
#include "uptls/starttls/reply.hpp"

namespace uptls::ftp {

using starttls::Reply;
using starttls::ReplyReader;

namespace {

/// One FTP reply read from a stream.
asio::awaitable<Reply> read_reply(Stream& stream, std::size_t max_line) {
  ReplyReader reader(ReplyReader::Style::ftp);
  for (;;) {
    auto line = co_await stream.read_line(max_line);
    if (!line) {
      throw Error(make_error_code(errc::unexpected_eof),
                  "ftp: the server closed the control connection");
    }
    auto status = reader.add(*line);
    if (status == ReplyReader::Status::malformed) {
      throw Error(make_error_code(errc::protocol_error), "ftp: the server sent " + reader.error());
    }
    if (status == ReplyReader::Status::complete) co_return reader.take();
  }
}

/// A command and its reply, which must have the first digit of expected.
asio::awaitable<Reply> exchange(Stream& control, const std::string& command, char expected,
                                std::size_t max_line = 8192) {
  co_await control.write_all(command + "\r\n");
  Reply reply = co_await read_reply(control, max_line);
  if (std::to_string(reply.code)[0] != expected) {
    throw Error(make_error_code(errc::protocol_error),
                "ftp: the server refused " + command + ": " + reply.quoted);
  }
  co_return reply;
}

/// The port of a 229 (`(|||port|)`) or 227 (`(h1,h2,h3,h4,p1,p2)`) reply.
std::uint16_t passive_port(const Reply& reply) {
  const std::string& text = reply.lines.back();
  std::size_t open = text.find('(');
  std::size_t close = text.find(')', open);
  if (open == std::string::npos || close == std::string::npos) return 0;
  std::string inside = text.substr(open + 1, close - open - 1);
  if (reply.code == 229) {
    if (inside.size() < 5 || inside.substr(0, 3) != "|||") return 0;
    return static_cast<std::uint16_t>(std::strtoul(inside.c_str() + 3, nullptr, 10));
  }
  std::vector<unsigned long> numbers;
  for (std::size_t at = 0; at <= inside.size();) {
    std::size_t comma = std::min(inside.find(',', at), inside.size());
    numbers.push_back(std::strtoul(inside.substr(at, comma - at).c_str(), nullptr, 10));
    at = comma + 1;
  }
  if (numbers.size() != 6 || numbers[4] > 255 || numbers[5] > 255) return 0;
  return static_cast<std::uint16_t>(numbers[4] * 256 + numbers[5]);
}

}  // namespace

asio::awaitable<void> clear_command_channel(Stream& stream, std::size_t max_line) {
  co_await exchange(stream, "CCC", '2', max_line);
  co_await stream.stop_tls();
}

asio::awaitable<std::string> download(Stream& control, std::string command, std::size_t max_size) {
  co_await control.write_all("EPSV\r\n");
  Reply passive = co_await read_reply(control, 8192);
  if (passive.code != 229) passive = co_await exchange(control, "PASV", '2');
  std::uint16_t port = passive_port(passive);
  if (port == 0) {
    throw Error(make_error_code(errc::protocol_error),
                "ftp: no port in the server's passive reply: " + passive.quoted);
  }
  // The address in a 227 is not used: the data connection goes to the
  // control connection's peer (no FTP bounce), within the connect timeout,
  // and resumes the control connection's session (RFC 4217 §10.2).
  ConnectOptions options;
  options.upgradeable = true;
  options.tls = control.client_config();
  options.server_name = control.server_name();
  options.timeouts = control.timeouts();
  Stream data = co_await open_connection(control.remote_endpoint().address().to_string(), port,
                                         std::move(options));
  if (control.is_tls()) data.resume_session_of(control);
  co_await control.write_all(command + "\r\n");
  // The preliminary reply (150) comes before the data connection's
  // handshake, as vsftpd, ProFTPD and uptls send it.
  Reply preliminary = co_await read_reply(control, 8192);
  if (preliminary.code / 100 != 1) {
    throw Error(make_error_code(errc::protocol_error),
                "ftp: the server refused " + command + ": " + preliminary.quoted);
  }
  co_await data.start_tls();
  std::string received;
  char chunk[16384];
  for (;;) {
    std::size_t n = co_await data.read_some(asio::buffer(chunk));
    if (n == 0) break;
    if (received.size() + n > max_size) {
      throw Error(make_error_code(errc::line_too_long),
                  "ftp: more than " + std::to_string(max_size) + " bytes for " + command);
    }
    received.append(chunk, n);
  }
  co_await data.close();
  Reply done = co_await read_reply(control, 8192);
  if (done.code / 100 != 2) {
    throw Error(make_error_code(errc::protocol_error),
                "ftp: the transfer of " + command + " failed: " + done.quoted);
  }
  co_return received;
}

}  // namespace uptls::ftp
