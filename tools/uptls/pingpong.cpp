#include "pingpong.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>
#include <stdexcept>
#include <variant>

namespace uptls::cli {
namespace {

using namespace asio::experimental::awaitable_operators;

void expect(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error("step failed: " + what);
}

asio::awaitable<void> ping(Stream& stream, const Say& say) {
  say("Sending PING");
  co_await stream.write_all("PING\n");
  auto response = co_await stream.read_line();
  expect(response.has_value(), "the server closed the connection instead of answering PING");
  say("Received: " + *response);
  expect(*response == "PONG", "expected PONG, received '" + *response + "'");
}

/// After STARTTLS: the seed server answers nothing and starts its handshake;
/// Twisted's starttls_server answers READY first. Waits up to reply_wait for
/// a READY line. A server that answers is upgraded at once; one that does
/// not gets the ClientHello after the wait, which also gives a server that
/// reads STARTTLS and the ClientHello together and loses the second
/// (CPython 3.11's StreamWriter.start_tls) time to switch to TLS first.
/// Nothing is lost either way: a read cut short by the timer keeps its bytes.
asio::awaitable<void> await_go_ahead(Stream& stream, std::chrono::milliseconds reply_wait,
                                     const Say& say) {
  if (reply_wait.count() <= 0) co_return;
  asio::steady_timer timer(stream.get_executor(), reply_wait);
  auto reply = co_await (stream.read_line() || timer.async_wait(asio::use_awaitable));
  if (reply.index() == 1) co_return;
  auto& line = std::get<0>(reply);
  expect(line.has_value(), "the server closed the connection after STARTTLS");
  say("Received: " + *line);
  expect(*line == "READY", "the server answered STARTTLS with '" + *line +
                               "' (expected READY, or nothing and its handshake)");
}

}  // namespace

std::string describe_session(const Stream& stream) {
  auto info = stream.tls_info();
  if (!info) return "plaintext";
  std::string line = "TLS " + info->version + ", cipher " + info->cipher + ", " +
                     std::to_string(info->secret_bits) + " secret bits, ALPN " +
                     (info->alpn.empty() ? std::string("none") : info->alpn);
  if (info->resumed) line += ", resumed";
  if (!info->ocsp_status.empty()) line += ", OCSP " + info->ocsp_status;
  if (stream.role() == Role::server) {
    auto client = stream.peer_certificate();
    line += ", client certificate " + (client ? client->subject : std::string("none"));
  }
  return line;
}

asio::awaitable<void> serve_pingpong(Stream stream, Say say, std::string starttls_reply) {
  say("Client connected from " + stream.peer());
  if (stream.is_tls()) say(describe_session(stream));
  while (auto request = co_await stream.read_line()) {
    say("Read '" + *request + "'");
    if (*request == "QUIT") break;
    if (*request == "PING") {
      say("Sending pong");
      co_await stream.write_all("PONG\n");
    } else if (*request == "STARTTLS") {
      if (!starttls_reply.empty()) {
        say("Sending " + starttls_reply);
        co_await stream.write_all(starttls_reply + "\n");
      }
      say("Upgrading connection to TLS");
      co_await stream.start_tls();
      say(describe_session(stream));
    }
  }
  say("Closing client");
  co_await stream.close();
  say("Client closed");
}

asio::awaitable<void> run_pingpong_client(std::string host, std::uint16_t port,
                                          ConnectOptions options, bool implicit_tls,
                                          std::chrono::milliseconds reply_wait, Say say) {
  say("Connect to " + host + " port " + std::to_string(port) +
      (implicit_tls ? " with TLS" : " as upgradeable"));
  options.upgradeable = !implicit_tls;
  Stream stream = co_await open_connection(host, port, options);
  if (!implicit_tls) {
    auto before = stream.peer_certificate();
    say(std::string("The server certificate is ") + (before ? before->subject : "None"));
    expect(!before, "no peer certificate before the upgrade");

    co_await ping(stream, say);

    say("Sending STARTTLS");
    co_await stream.write_all("STARTTLS\n");
    co_await await_go_ahead(stream, reply_wait, say);
    say("Upgrading the connection to TLS");
    co_await stream.start_tls();
  }

  auto after = stream.peer_certificate();
  expect(after.has_value(), "a peer certificate after the upgrade");
  say("The server certificate is " + after->subject + " (issuer " + after->issuer + ")");
  say(describe_session(stream));

  co_await ping(stream, say);

  say("Sending QUIT");
  co_await stream.write_all("QUIT\n");
  say("Closing client");
  co_await stream.close();
  say("Client disconnected");
}

std::pair<std::string, std::uint16_t> split_host_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    throw std::invalid_argument("expected HOST:PORT, got '" + std::string(text) + "'");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string_view port_text = text.substr(colon + 1);
  std::uint16_t port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size()) {
    throw std::invalid_argument("bad port in '" + std::string(text) + "'");
  }
  return {std::string(host), port};
}

}  // namespace uptls::cli
