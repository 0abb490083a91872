#include "uptls/starttls/ftp.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "uptls/connect.hpp"

namespace uptls::starttls {

// ---- client ---------------------------------------------------------------

FtpClient::FtpClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line),
      options_(std::move(options)),
      reader_(ReplyReader::Style::ftp, options_.max_reply_lines) {}

std::string_view FtpClient::protocol() const noexcept { return "ftp"; }

std::size_t FtpClient::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  if (auto reply = take_reply(bytes, used, reader_)) on_reply(std::move(*reply));
  return used;
}

void FtpClient::on_reply(Reply reply) {
  switch (state_) {
    case State::greeting:
      if (reply.code == 120) return;  // "ready in n minutes": the 220 follows
      if (reply.code != 220) {
        fail(errc::protocol_error, "ftp: the server refused the session: " + reply.quoted);
        return;
      }
      for (const auto& line : reply.lines) {
        if (!learned_.greeting.empty()) learned_.greeting += "\n";
        learned_.greeting += line;
      }
      send("AUTH TLS\r\n");
      state_ = State::auth;
      return;
    case State::auth:
      if (reply.code != 234) {
        unavailable(options_.policy, "the server refused AUTH TLS: " + reply.quoted);
        return;
      }
      upgrade();
      return;
    case State::pbsz:
    case State::prot:
      if (reply.code / 100 != 2) {
        fail(errc::protocol_error,
             std::string("ftp: the server refused to protect data connections (") +
                 (state_ == State::pbsz ? "PBSZ 0" : "PROT P") + "): " + reply.quoted);
        return;
      }
      if (state_ == State::pbsz) {
        send("PROT P\r\n");
        state_ = State::prot;
      } else {
        send("FEAT\r\n");
        state_ = State::feat;
      }
      return;
    case State::feat:
      if (reply.code == 211 && reply.lines.size() > 2) {
        for (std::size_t i = 1; i + 1 < reply.lines.size(); ++i) {
          std::string_view feature = reply.lines[i];
          feature.remove_prefix(std::min(feature.find_first_not_of(' '), feature.size()));
          learned_.capabilities.emplace_back(feature);
        }
      }
      finish();
      return;
  }
}

void FtpClient::on_tls() {
  send("PBSZ 0\r\n");
  state_ = State::pbsz;
}

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

asio::awaitable<void> ftp_clear_command_channel(Stream& stream, std::size_t max_line) {
  co_await exchange(stream, "CCC", '2', max_line);
  co_await stream.stop_tls();
}

asio::awaitable<std::string> ftp_download(Stream& control, std::string command,
                                          std::size_t max_size) {
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

// ---- server ---------------------------------------------------------------

FtpServer::FtpServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)) {
  send("220 " + (options_.greeting.empty() ? options_.host_name + " FTP" : options_.greeting) +
       "\r\n");
}

std::string_view FtpServer::protocol() const noexcept { return "ftp"; }

std::size_t FtpServer::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("500 line too long; closing\r\n");
    return used;
  }
  if (options_.policy == Policy::opportunistic && needs_tls(*line)) {
    // Plaintext was allowed: the application serves this command.
    finish();
    return 0;
  }
  command(*line, bytes.substr(used));
  return used;
}

// Everything but these needs TLS first (RFC 4217 §11: 530 to a login before
// AUTH TLS); one list for both policies, as SmtpServer's.
bool FtpServer::needs_tls(std::string_view line) {
  return !detail::verb_is_one_of(line, {"AUTH", "FEAT", "QUIT", "NOOP", "SYST", "OPTS"});
}

void FtpServer::command(std::string_view line, std::string_view rest) {
  auto [verb, argument] = detail::split_command(line);
  auto is = [verb = verb](std::string_view name) { return detail::iequals(verb, name); };
  if (is("AUTH")) {
    if (!detail::iequals(argument, "TLS") && !detail::iequals(argument, "TLS-C") &&
        !detail::iequals(argument, "SSL")) {
      send("504 AUTH TLS only\r\n");
    } else {
      accept_starttls(rest, "234 AUTH TLS successful\r\n",
                      "421 command pipelined after AUTH TLS; closing\r\n");
    }
    return;
  }
  if (is("FEAT")) {
    std::string list = "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n";
    for (const std::string& feature : options_.capabilities) list += " " + feature + "\r\n";
    send(list + "211 End\r\n");
    return;
  }
  if (is("QUIT")) {
    send("221 Goodbye\r\n");
    peer_left();
    return;
  }
  if (is("NOOP") || is("OPTS")) {
    send("200 " + std::string(verb) + " ok\r\n");
    return;
  }
  if (is("SYST")) {
    send("215 UNIX Type: L8\r\n");
    return;
  }
  send("530 TLS is required: AUTH TLS first\r\n");
  if (++errors_ > 20) {
    send("421 too many errors; closing\r\n");
    fail(errc::protocol_error, "ftp: the client made too many errors");
  }
}

// The login, PBSZ and PROT come over TLS, to the application.
void FtpServer::on_tls() { finish(); }

void FtpServer::on_end_of_input() { peer_left(); }

}  // namespace uptls::starttls
