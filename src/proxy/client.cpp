#include "proxy/client.hpp"

#include "base64.hpp"
#include "proxy/body.hpp"
#include "proxy/message.hpp"
#include "uptls/connect.hpp"
#include "uptls/error.hpp"

namespace uptls::proxy {
namespace {

// The configuration that answers intercepted clients: a certificate minted
// for the name each asks for by SNI, or for the CONNECT host (start_tls's
// name_without_sni); one bound on all that are kept.
std::shared_ptr<const tls::ServerConfig> intercepting(const ProxyOptions& options) {
  tls::ServerOptions server;
  server.identity = options.authority->issue({"uptls-proxy.invalid"});
  // What the proxy relays: HTTP/1.1, and HTTP/1.0 (curl -0 offers it alone).
  server.protocol.alpn = {"http/1.1", "http/1.0"};
  server.identities_kept = options.certificates_kept;
  server.sni_callback = [authority = options.authority](std::string_view name) {
    return std::optional<tls::Identity>(authority->issue({std::string(name)}));
  };
  return tls::ServerConfig::make(server);
}

Connector tcp_connector(const ProxyOptions& options) {
  return [tls = options.upstream_tls, timeout = options.connect_timeout,
          send_proxy = options.send_proxy](const Reach& reach) -> asio::awaitable<Stream> {
    ConnectOptions connect;
    if (reach.tls) connect.tls = tls;
    connect.server_name = reach.server_name;
    connect.connect_timeout = timeout;
    connect.timeouts = reach.timeouts;
    connect.send_proxy = send_proxy;
    connect.send_proxy_source = reach.client;
    co_return co_await open_connection(reach.target.host, reach.target.port, connect);
  };
}

}  // namespace

Shared::Shared(ProxyOptions o, Connector c) : options(std::move(o)), connect(std::move(c)) {
  if (!options.upstream_tls) {
    tls::ClientOptions client;
    client.protocol.alpn = {"http/1.1"};
    options.upstream_tls = tls::ClientConfig::make(client);
  }
  if (!connect) connect = tcp_connector(options);
  if (!options.basic_auth.empty()) expected_auth = detail::base64(options.basic_auth);
  if (options.authority) minting = intercepting(options);
}

Client::Client(Shared& s, Stream& client) : shared(s), options(s.options), stream(client) {
  try {
    peer_ = stream.peer();
  } catch (const std::exception&) {
    peer_ = "unknown";
  }
}

asio::awaitable<bool> Client::next_request(Incoming& in, const char* mode) {
  std::string problem;
  int status = 400;
  http::Request& request = in.request;
  try {
    in.head = co_await read_head(stream, options.limits, true);
    if (in.head.empty()) co_return false;
    http::Outcome outcome = http::parse_request(in.head, request, options.limits);
    if (outcome.parse == http::Parse::done) {
      // Framing a proxy cannot pass on safely (request smuggling) ends here.
      in.body = http::request_framing(request);
      started_ = Clock::now();
      ++shared.requests;
      co_return true;
    }
    problem = outcome.message;
    if (outcome.parse == http::Parse::too_large) status = 431;
  } catch (const Error& e) {
    if (e.code() == errc::line_too_long) {
      status = 431;
      problem = "a header line is longer than " + std::to_string(options.limits.max_line) +
                " bytes, or the head larger than " + std::to_string(options.limits.max_head) +
                " bytes or over " + std::to_string(options.limits.max_fields) + " fields";
    } else if (e.code() == errc::protocol_error) {
      problem = e.what();
    } else {
      co_return false;
    }
  } catch (const std::system_error&) {
    co_return false;
  }
  started_ = Clock::now();
  std::string reply =
      make_response(status, "uptls proxy: malformed request: " + problem + "\n", true);
  co_await refuse(reply, status, request, mode, "malformed request: " + problem);
  co_return false;
}

asio::awaitable<void> Client::refuse(const std::string& reply, int status,
                                     const http::Request& request, const char* mode,
                                     std::string why) {
  ProxyEvent event = event_for(request, mode);
  event.status = status;
  event.error = std::move(why);
  try {
    co_await stream.write_all(reply);
    co_await linger(stream);
  } catch (const std::exception&) {
  }
  log(event);
}

asio::awaitable<bool> Client::respond(const Incoming& in, ProxyEvent& event,
                                      const std::string& body) {
  const http::Request& request = in.request;
  const http::Framing& framing = in.body;
  if (framing.kind != http::BodyKind::none && request.minor_version >= 1 &&
      request.fields.has_token("Expect", "100-continue")) {
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    co_await stream.write_all(go_on);
  }
  co_await copy_body({stream, "the client", nullptr, ""}, framing, options.limits,
                     event.request_bytes);
  bool keep = !request.fields.has_token("Connection", "close") &&
              (request.minor_version >= 1 || request.fields.has_token("Connection", "keep-alive"));
  std::string reply = make_response(
      200, body, !keep, keep && request.minor_version == 0 ? "Connection: keep-alive\r\n" : "",
      request.method == "HEAD");
  co_await stream.write_all(reply);
  event.status = 200;
  event.response_bytes = request.method == "HEAD" ? 0 : body.size();
  co_return keep;
}

asio::awaitable<void> Client::fail_exchange(ProxyEvent& event, bool responded, std::string why) {
  event.error = why;
  if (responded) {
    stream.abort();
    co_return;
  }
  std::string reply = make_response(502, "uptls proxy: " + why + "\n", true);
  try {
    co_await stream.write_all(reply);
    event.status = 502;
    co_await linger(stream);
  } catch (const std::exception&) {
    stream.abort();
  }
}

ProxyEvent Client::event_for(const http::Request& request, const char* mode) const {
  ProxyEvent event;
  event.client = peer_;
  event.mode = mode;
  event.method = request.method;
  event.url = request.target;
  return event;
}

void Client::log(ProxyEvent& event) const {
  event.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_);
  shared.log(event);
}

asio::awaitable<void> Client::finish(Stream& stream) {
  try {
    co_await stream.shutdown_send();
  } catch (const std::exception&) {
  }
}

asio::awaitable<void> Client::linger(Stream& stream) {
  co_await finish(stream);
  Timeouts timeouts = stream.timeouts();
  timeouts.read = std::chrono::seconds(1);
  timeouts.idle = std::chrono::seconds(1);
  stream.set_timeouts(timeouts);
  auto until = Clock::now() + std::chrono::seconds(5);
  char sink[16384];
  try {
    // The co_await outside the condition's short circuit (GCC 12).
    while (Clock::now() < until) {
      if (co_await stream.read_some(asio::buffer(sink)) == 0) break;
    }
  } catch (const std::exception&) {
  }
}

}  // namespace uptls::proxy
