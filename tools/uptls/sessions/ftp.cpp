// FTP after AUTH TLS: a session for any user, in one directory holding
// `hello.txt`, with passive data connections (protected after PROT P) and
// CCC; the data connections are opened here, beside the control
// connection's dialogue.

#include "sessions/ftp.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "ascii.hpp"
#include "sessions/mailbox.hpp"
#include "starttls/command.hpp"

namespace uptls::sessions {
namespace {

constexpr std::string_view file = "hello.txt";

}  // namespace

std::size_t FtpSession::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (line) {
    command(*line);
  } else if (next() == starttls::Next::failed) {
    send("500 line too long; closing\r\n");
  }
  return used;
}

void FtpSession::command(std::string_view line) {
  auto [verb, argument] = detail::split_command(line);
  auto is = [verb = verb](std::string_view name) { return detail::iequals(verb, name); };
  if (is("AUTH")) {
    send(learned_.tls ? "503 TLS is already active\r\n"
                      : "503 this session went on in plaintext\r\n");
  } else if (is("FEAT")) {
    std::string list = "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n";
    for (const std::string& feature : capabilities_before_tls(starttls::Protocol::ftp, options_)) {
      list += " " + feature + "\r\n";
    }
    send(list + "211 End\r\n");
  } else if (is("QUIT")) {
    send("221 Goodbye\r\n");
    finish();
  } else if (is("NOOP") || is("OPTS") || is("TYPE") || is("MODE") || is("STRU")) {
    send("200 " + std::string(verb) + " ok\r\n");
  } else if (is("SYST")) {
    send("215 UNIX Type: L8\r\n");
  } else if (login_or_protection(verb, argument)) {
    return;
  } else if (!logged_in_) {
    send("530 log in first\r\n");
  } else if (file_command(verb, argument)) {
    return;
  } else if (detail::verb_is_one_of(verb, {"LIST", "NLST", "MLSD", "RETR", "STOR", "APPE"})) {
    std::string_view name = argument;
    if (!name.empty() && name[0] == '/') name.remove_prefix(1);
    transfer(line, verb, name);
    return;
  } else {
    send("502 command not implemented\r\n");
  }
  if (++errors_ > 20) {
    send("421 too many errors; closing\r\n");
    fail(errc::protocol_error, "ftp: the client made too many errors");
  }
}

bool FtpSession::login_or_protection(std::string_view verb, std::string_view argument) {
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  bool tls = learned_.tls && !cleared_;
  if (is("PBSZ")) {
    protected_buffer_ = protected_buffer_ || tls;
    send(tls ? "200 PBSZ=0\r\n" : "503 PBSZ needs TLS\r\n");
  } else if (is("PROT")) {
    if (!protected_buffer_) {
      send("503 PBSZ first\r\n");
    } else if (detail::iequals(argument, "P") || detail::iequals(argument, "C")) {
      protect_data_ = detail::iequals(argument, "P");
      send(std::string("200 PROT now ") + (protect_data_ ? "Private" : "Clear") + "\r\n");
    } else {
      send("536 PROT P or C only\r\n");
    }
  } else if (is("CCC")) {
    if (!tls) {
      send("533 CCC needs TLS\r\n");
    } else {
      // RFC 4217 §6: the reply goes over TLS, then TLS ends.
      send("200 CCC command successful; the control connection is plaintext from now\r\n");
      cleared_ = true;
      log("ftp control connection back to plaintext (CCC)");
      clear();
    }
  } else if (is("USER")) {
    user_ = std::string(argument);
    logged_in_ = false;
    send("331 password, please\r\n");
  } else if (is("PASS")) {
    logged_in_ = !user_.empty();
    if (logged_in_) log("ftp login as " + user_);
    send(logged_in_ ? "230 logged in\r\n" : "503 USER first\r\n");
  } else {
    return false;
  }
  return true;
}

bool FtpSession::file_command(std::string_view verb, std::string_view argument) {
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  std::string_view name = argument;
  if (!name.empty() && name[0] == '/') name.remove_prefix(1);
  if (is("PWD") || is("XPWD")) {
    send("257 \"/\" is the current directory\r\n");
  } else if (is("CWD") || is("CDUP")) {
    send(argument.empty() || argument == "/" || is("CDUP") ? "250 directory changed\r\n"
                                                           : "550 there is only /\r\n");
  } else if (is("SIZE") || is("MDTM")) {
    if (name != file) {
      send("550 there is only hello.txt\r\n");
    } else {
      send(is("SIZE") ? "213 " + std::to_string(sample_message.size()) + "\r\n"
                      : std::string("213 20261123000000\r\n"));
    }
  } else if (is("REST")) {
    send("350 restarting at " + std::string(argument) + "\r\n");
  } else if (is("PASV") || is("EPSV")) {
    extended_ = is("EPSV");
    ask(DataRequest());
  } else if (is("PORT") || is("EPRT")) {
    send("502 active mode is not served: use PASV or EPSV\r\n");
  } else {
    return false;
  }
  return true;
}

void FtpSession::transfer(std::string_view line, std::string_view verb, std::string_view name) {
  auto is = [verb](std::string_view candidate) { return detail::iequals(verb, candidate); };
  if (!passive_) {
    send("425 use PASV or EPSV first\r\n");
    return;
  }
  if (!protect_data_ && options_.policy == starttls::Policy::required) {
    send("522 data connections must be protected: PROT P first\r\n");
    return;
  }
  if (is("RETR") && name != file) {
    send("550 there is only hello.txt\r\n");
    return;
  }
  DataRequest request;
  request.protect = protect_data_;
  request.resume_session = protect_data_ && !cleared_ && options_.require_session_reuse;
  std::string size = std::to_string(sample_message.size());
  if (is("RETR")) {
    request.kind = DataRequest::send;
    request.payload = std::string(sample_message);
    send("150 Opening data connection for hello.txt (" + size + " bytes)\r\n");
  } else if (is("STOR") || is("APPE")) {
    request.kind = DataRequest::receive;
    send("150 Ok to send data\r\n");
  } else {
    request.kind = DataRequest::send;
    request.payload =
        is("NLST")   ? "hello.txt\r\n"
        : is("MLSD") ? "type=file;size=" + size + ";modify=20261123000000; hello.txt\r\n"
                     : "-rw-r--r--    1 uptls    uptls    " + size + " Nov 23 00:00 hello.txt\r\n";
    send("150 Here comes the directory listing\r\n");
  }
  transfer_ = std::string(line);
  ask(std::move(request));
}

void FtpSession::passive_opened(std::uint16_t port, std::string_view address) {
  request_.reset();
  expect_input();
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
}

void FtpSession::transfer_done(bool ok, std::size_t bytes, std::string_view reason) {
  bool upload = request_ && request_->kind == DataRequest::receive;
  bool protect = request_ && request_->protect;
  request_.reset();
  expect_input();
  passive_ = false;
  if (ok) {
    log("ftp " + transfer_ + ": " + std::to_string(bytes) + " bytes" +
        (upload ? " received and discarded" : " sent") + (protect ? " over TLS" : " in plaintext"));
    send("226 Transfer complete (" + std::to_string(bytes) + " bytes" +
         (upload ? ", discarded" : "") + ")\r\n");
  } else {
    send("426 Connection closed; transfer aborted: " + std::string(reason.substr(0, 200)) + "\r\n");
  }
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

/// A passive listener on the control connection's local address.
void open_listener(Stream& control, FtpSession& session,
                   std::optional<asio::ip::tcp::acceptor>& listener) {
  std::string address;
  std::uint16_t port = 0;
  try {
    auto local = control.local_endpoint();
    listener.emplace(control.get_executor(), asio::ip::tcp::endpoint(local.address(), 0));
    address = local.address().to_string();
    port = listener->local_endpoint().port();
  } catch (const std::exception&) {
    listener.reset();
  }
  session.passive_opened(port, address);
}

/// One transfer over the passive listener's first connection from the
/// client: TLS as a server with the control stream's configuration when
/// protected, resuming the control connection's session when asked.
asio::awaitable<void> transfer(Stream& control, FtpSession& session, DataRequest request,
                               std::optional<asio::ip::tcp::acceptor>& listener,
                               std::size_t max_upload) {
  std::size_t bytes = 0;
  std::string failure;
  try {
    if (!listener) throw std::runtime_error("no passive listener");
    asio::ip::tcp::socket socket = co_await accept_from_client(*listener, control);
    listener.reset();
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
    if (request.kind == DataRequest::send) {
      co_await data.write_all(request.payload);
      bytes = request.payload.size();
    } else {
      char chunk[16384];
      for (std::size_t n; (n = co_await data.read_some(asio::buffer(chunk))) > 0;) {
        bytes += n;
        if (bytes > max_upload) throw std::runtime_error("the upload is too large");
      }
    }
    co_await data.close();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  listener.reset();
  session.transfer_done(failure.empty(), bytes, failure);
}

}  // namespace

asio::awaitable<void> serve_ftp(Stream& control, const starttls::Learned& handed_over,
                                Options options) {
  std::size_t max_upload = options.max_message;
  FtpSession session(handed_over, std::move(options));
  // A passive listener lives from PASV to the transfer it is for.
  std::optional<asio::ip::tcp::acceptor> listener;
  for (;;) {
    co_await starttls::run(control, session);
    if (!session.data_request()) co_return;
    DataRequest request = *session.data_request();
    if (request.kind == DataRequest::listen) {
      open_listener(control, session, listener);
    } else {
      co_await transfer(control, session, std::move(request), listener, max_upload);
    }
  }
}

}  // namespace uptls::sessions
