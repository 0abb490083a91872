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
#include "starttls/mailbox.hpp"
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

namespace {

/// The first connection to listener from the control connection's peer
/// address, within 30 s; connections from other addresses are closed (as
/// vsftpd's pasv_promiscuous=NO does).
asio::awaitable<asio::ip::tcp::socket> accept_from_client(asio::ip::tcp::acceptor& listener,
                                                          Stream& control) {
  using namespace asio::experimental::awaitable_operators;
  asio::ip::address client = control.remote_endpoint().address();
  asio::steady_timer timer(control.get_executor(), std::chrono::seconds(30));
  std::size_t refused = 0;
  for (;;) {
    auto accepted = co_await (listener.async_accept(asio::use_awaitable) ||
                              timer.async_wait(asio::use_awaitable));
    if (accepted.index() == 1) {
      throw std::runtime_error(
          "no data connection from " + client.to_string() + " within 30 s" +
          (refused ? " (" + std::to_string(refused) + " from other addresses refused)"
                   : std::string()));
    }
    auto& socket = std::get<0>(accepted);
    std::error_code ec;
    auto from = socket.remote_endpoint(ec);
    if (!ec && from.address() == client) co_return std::move(socket);
    ++refused;
  }
}

}  // namespace

Service ftp_data_service() {
  // A passive listener lives from PASV to the transfer it is for.
  auto listener = std::make_shared<std::optional<asio::ip::tcp::acceptor>>();
  return [listener](Stream& control, Dialogue& dialogue) -> asio::awaitable<void> {
    auto& ftp = dynamic_cast<FtpServer&>(dialogue);
    FtpServer::DataRequest request = ftp.data_request();
    if (request.kind == FtpServer::DataRequest::listen) {
      std::string address;
      std::uint16_t port = 0;
      try {
        auto local = control.local_endpoint();
        listener->emplace(control.get_executor(), asio::ip::tcp::endpoint(local.address(), 0));
        address = local.address().to_string();
        port = (*listener)->local_endpoint().port();
      } catch (const std::exception&) {
        listener->reset();
      }
      ftp.passive_opened(port, address);
      co_return;
    }
    std::size_t bytes = 0;
    std::string failure;
    try {
      if (!*listener) throw std::runtime_error("no passive listener");
      asio::ip::tcp::socket socket = co_await accept_from_client(**listener, control);
      listener->reset();
      Stream data(std::move(socket), control.server_config());
      data.set_timeouts(control.timeouts());
      // A client that only writes (an upload) never reads tickets, and its
      // close then resets the connection, discarding the data's end.
      data.set_session_tickets(0);
      // Only the client that opened the control connection, as vsftpd's
      // require_ssl_reuse does (RFC 4217 §10.2): another one that raced to
      // the port, from the same address even, cannot resume that session.
      if (request.resume_session && control.is_tls()) data.resume_session_of(control);
      if (request.protect) co_await data.start_tls();
      if (request.kind == FtpServer::DataRequest::send) {
        co_await data.write_all(request.payload);
        bytes = request.payload.size();
      } else {
        char chunk[16384];
        for (std::size_t n; (n = co_await data.read_some(asio::buffer(chunk))) > 0;) {
          bytes += n;
          if (bytes > ftp.max_upload()) throw std::runtime_error("the upload is too large");
        }
      }
      co_await data.close();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    listener->reset();
    ftp.transfer_done(failure.empty(), bytes, failure);
  };
}

// ---- server ---------------------------------------------------------------

FtpServer::FtpServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)) {
  send("220 " + options_.host_name + " FTP uptls ready\r\n");
}

std::string_view FtpServer::protocol() const noexcept { return "ftp"; }

std::size_t FtpServer::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("500 line too long; closing\r\n");
    return used;
  }
  if (!learned_.tls && options_.policy == Policy::opportunistic && !options_.session &&
      detail::verb_is_one_of(*line, {"USER", "PASS", "ACCT"})) {
    // Plaintext was allowed: the application serves this command.
    finish();
    return 0;
  }
  command(*line, bytes.substr(used));
  return used;
}

void FtpServer::command(std::string_view line, std::string_view rest) {
  auto [verb_part, argument] = detail::split_command(line);
  std::string_view verb = verb_part;
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  bool tls = learned_.tls && !cleared_;
  constexpr std::string_view file = "hello.txt";
  if (is("AUTH")) {
    if (learned_.tls) {
      send("503 TLS is already active\r\n");
    } else if (!detail::iequals(argument, "TLS") && !detail::iequals(argument, "TLS-C") &&
               !detail::iequals(argument, "SSL")) {
      send("504 AUTH TLS only\r\n");
    } else {
      accept_starttls(rest, "234 AUTH TLS successful\r\n",
                      "421 command pipelined after AUTH TLS; closing\r\n");
    }
    return;
  }
  if (is("FEAT")) {
    send(
        "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n CCC\r\n SIZE\r\n MDTM\r\n UTF8\r\n"
        "211 End\r\n");
    return;
  }
  if (is("QUIT")) {
    send("221 Goodbye\r\n");
    finish();
    return;
  }
  if (is("NOOP")) {
    send("200 NOOP ok\r\n");
    return;
  }
  if (is("SYST")) {
    send("215 UNIX Type: L8\r\n");
    return;
  }
  if (is("OPTS")) {
    send("200 OPTS ok\r\n");
    return;
  }
  if (!learned_.tls && options_.policy == Policy::required) {
    send("530 TLS is required: AUTH TLS first\r\n");
  } else if (is("PBSZ")) {
    if (!tls) {
      send("503 PBSZ needs TLS\r\n");
    } else {
      protected_buffer_ = true;
      send("200 PBSZ=0\r\n");
    }
    return;
  } else if (is("PROT")) {
    if (!protected_buffer_) {
      send("503 PBSZ first\r\n");
    } else if (detail::iequals(argument, "P") || detail::iequals(argument, "C")) {
      protect_data_ = detail::iequals(argument, "P");
      send(std::string("200 PROT now ") + (protect_data_ ? "Private" : "Clear") + "\r\n");
    } else {
      send("536 PROT P or C only\r\n");
    }
    return;
  } else if (is("CCC")) {
    if (!tls) {
      send("533 CCC needs TLS\r\n");
    } else {
      // RFC 4217 §6: the reply goes over TLS, then TLS ends.
      send("200 CCC command successful; the control connection is plaintext from now\r\n");
      cleared_ = true;
      if (options_.log) options_.log("ftp control connection back to plaintext (CCC)");
      clear();
    }
    return;
  } else if (is("USER")) {
    user_ = std::string(argument);
    logged_in_ = false;
    send("331 password, please\r\n");
    return;
  } else if (is("PASS")) {
    if (user_.empty()) {
      send("503 USER first\r\n");
    } else {
      logged_in_ = true;
      if (options_.log) options_.log("ftp login as " + user_);
      send("230 logged in\r\n");
    }
    return;
  } else if (!logged_in_) {
    send("530 log in first\r\n");
  } else if (is("PWD") || is("XPWD")) {
    send("257 \"/\" is the current directory\r\n");
    return;
  } else if (is("CWD") || is("CDUP")) {
    send(argument.empty() || argument == "/" || is("CDUP") ? "250 directory changed\r\n"
                                                           : "550 there is only /\r\n");
    return;
  } else if (is("TYPE") || is("MODE") || is("STRU")) {
    send("200 ok\r\n");
    return;
  } else if (is("SIZE") || is("MDTM")) {
    std::string_view name = argument;
    if (!name.empty() && name[0] == '/') name.remove_prefix(1);
    if (name != file) {
      send("550 there is only hello.txt\r\n");
    } else {
      send(is("SIZE") ? "213 " + std::to_string(detail::sample_message.size()) + "\r\n"
                      : std::string("213 20261123000000\r\n"));
    }
    return;
  } else if (is("REST")) {
    send("350 restarting at " + std::string(argument) + "\r\n");
    return;
  } else if (is("PASV") || is("EPSV")) {
    extended_ = is("EPSV");
    request_ = DataRequest();
    ask_service();
    return;
  } else if (is("PORT") || is("EPRT")) {
    send("502 active mode is not served: use PASV or EPSV\r\n");
    return;
  } else if (detail::verb_is_one_of(verb, {"LIST", "NLST", "MLSD", "RETR", "STOR", "APPE"})) {
    std::string_view name = argument;
    if (!name.empty() && name[0] == '/') name.remove_prefix(1);
    if (!passive_) {
      send("425 use PASV or EPSV first\r\n");
    } else if (!protect_data_ && options_.policy == Policy::required) {
      send("522 data connections must be protected: PROT P first\r\n");
    } else if (is("RETR") && name != file) {
      send("550 there is only hello.txt\r\n");
    } else {
      request_ = DataRequest();
      request_.protect = protect_data_;
      request_.resume_session = protect_data_ && !cleared_ && options_.require_session_reuse;
      std::string size = std::to_string(detail::sample_message.size());
      if (is("RETR")) {
        request_.kind = DataRequest::send;
        request_.payload = std::string(detail::sample_message);
        send("150 Opening data connection for hello.txt (" + size + " bytes)\r\n");
      } else if (is("STOR") || is("APPE")) {
        request_.kind = DataRequest::receive;
        send("150 Ok to send data\r\n");
      } else {
        request_.kind = DataRequest::send;
        request_.payload =
            is("NLST") ? "hello.txt\r\n"
            : is("MLSD")
                ? "type=file;size=" + size + ";modify=20261123000000; hello.txt\r\n"
                : "-rw-r--r--    1 uptls    uptls    " + size + " Nov 23 00:00 hello.txt\r\n";
        send("150 Here comes the directory listing\r\n");
      }
      transfer_ = std::string(line);
      ask_service();
    }
    return;
  } else {
    send("502 command not implemented\r\n");
  }
  if (++errors_ > 20) {
    send("421 too many errors; closing\r\n");
    fail(errc::protocol_error, "ftp: the client made too many errors");
  }
}

void FtpServer::passive_opened(std::uint16_t port, std::string_view address) {
  passive_ = port != 0;
  if (!passive_) {
    send("425 cannot open a passive data connection\r\n");
  } else if (extended_) {
    send("229 Entering Extended Passive Mode (|||" + std::to_string(port) + "|)\r\n");
  } else if (address.find(':') != std::string_view::npos) {
    passive_ = false;
    send("522 this connection is IPv6: use EPSV\r\n");
  } else {
    std::string numbers(address);
    for (char& c : numbers) c = c == '.' ? ',' : c;
    send("227 Entering Passive Mode (" + numbers + "," + std::to_string(port >> 8) + "," +
         std::to_string(port & 0xff) + ")\r\n");
  }
  service_done();
}

void FtpServer::transfer_done(bool ok, std::size_t bytes, std::string_view reason) {
  passive_ = false;
  if (ok) {
    bool upload = request_.kind == DataRequest::receive;
    if (options_.log) {
      options_.log("ftp " + transfer_ + ": " + std::to_string(bytes) + " bytes" +
                   (upload ? " received and discarded" : " sent") +
                   (request_.protect ? " over TLS" : " in plaintext"));
    }
    send("226 Transfer complete (" + std::to_string(bytes) + " bytes" +
         (upload ? ", discarded" : "") + ")\r\n");
  } else {
    send("426 Connection closed; transfer aborted: " + std::string(reason.substr(0, 200)) + "\r\n");
  }
  request_ = DataRequest();
  service_done();
}

void FtpServer::on_tls() {
  user_.clear();
  logged_in_ = false;
  protected_buffer_ = false;
  protect_data_ = false;
  if (!options_.session) finish();
}

void FtpServer::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
