// The proxy's connection loop and routing. Its parts, each in src/proxy/:
// target (CONNECT targets and URLs), message (heads read and made), body
// (one body copied), client (the client's side and the shared state), hop
// (one exchange with an origin), intercept (a tunnel opened up).

#include "uptls/proxy.hpp"

#include <openssl/crypto.h>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>

#include "ascii.hpp"
#include "proxy/hop.hpp"
#include "proxy/intercept.hpp"
#include "proxy/message.hpp"
#include "proxy/session.hpp"
#include "uptls/relay.hpp"

namespace uptls {
namespace proxy {
namespace {

// A wrong guess costs its sender a second: no quick search for the
// password (a client that sent none is answered at once).
constexpr std::chrono::seconds wrong_credentials_delay{1};

class Session {
 public:
  Session(Shared& shared, Stream& stream) : client_(shared, stream), options_(shared.options) {}

  asio::awaitable<void> run() {
    for (;;) {
      Incoming in;
      if (!co_await client_.next_request(in, "local")) co_return;
      const http::Request& request = in.request;
      if (!authorized(request)) {
        if (request.fields.find("Proxy-Authorization")) co_await pause(wrong_credentials_delay);
        std::string reply = make_response(407, "uptls proxy: proxy authentication required\n", true,
                                          "Proxy-Authenticate: Basic realm=\"uptls proxy\"\r\n");
        co_await client_.refuse(reply, 407, request, "local", "missing or wrong proxy credentials");
        co_return;
      }
      if (request.method == "CONNECT") {
        co_await connect(request);
        co_return;
      }
      if (!co_await route(in)) {
        co_await Client::finish(client_.stream);
        co_return;
      }
    }
  }

 private:
  // A request other than CONNECT: forwarded, or the status page; returns
  // whether the connection stays open.
  asio::awaitable<bool> route(const Incoming& in) {
    const http::Request& request = in.request;
    auto url = parse_absolute(request.target);
    if (url && url->tls && !port_allowed(url->target.port)) {
      std::string reply = make_response(
          403,
          "uptls proxy: https:// to port " + std::to_string(url->target.port) +
              " is not allowed (allowed ports are set with --allow-port, as for CONNECT)\n",
          true);
      co_await client_.refuse(reply, 403, request, "local",
                              "port " + std::to_string(url->target.port) + " is not allowed");
      co_return false;
    }
    if (url) co_return co_await forward(in, *url);
    if (!request.target.empty() && request.target.front() == '/') {
      co_return co_await status_page(in);
    }
    std::string reply = make_response(
        400, "uptls proxy: the request target is neither a path nor an http:// URL\n", true);
    co_await client_.refuse(reply, 400, request, "local", "bad request target");
    co_return false;
  }

  bool authorized(const http::Request& request) const {
    const std::string& expected = client_.shared.expected_auth;
    if (expected.empty()) return true;
    auto value = request.fields.find("Proxy-Authorization");
    if (!value || value->size() < 6) return false;
    if (!detail::iequals(value->substr(0, 6), "basic ")) return false;
    std::string_view given = value->substr(6);
    while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
    return given.size() == expected.size() &&
           CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
  }

  bool port_allowed(std::uint16_t port) const {
    const auto& ports = options_.connect_ports;
    return std::find(ports.begin(), ports.end(), port) != ports.end();
  }

  static asio::awaitable<void> pause(std::chrono::steady_clock::duration delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }

  asio::awaitable<bool> status_page(const Incoming& in) {
    ProxyEvent event = client_.event_for(in.request, "local");
    const Shared& shared = client_.shared;
    std::string body = "uptls proxy\nmode: ";
    body += options_.answer ? "answer" : options_.authority ? "intercept" : "tunnel";
    body += "\nconnections open: " + std::to_string(shared.open.load()) +
            "\nrequests: " + std::to_string(shared.requests.load()) +
            "\ntunnels: " + std::to_string(shared.tunnels.load()) + "\n";
    bool keep = co_await client_.respond(in, event, body);
    client_.log(event);
    co_return keep;
  }

  // An absolute-form request: forwarded in origin form (origin_head) over
  // an upstream connection kept while the origin stays the same.
  asio::awaitable<bool> forward(const Incoming& in, const Url& url) {
    ProxyEvent event = client_.event_for(in.request, "forward");
    if (options_.answer) {
      bool keep = co_await client_.respond(in, event, *options_.answer);
      client_.log(event);
      co_return keep;
    }
    std::string head =
        origin_head(in.request, url.path, url.target.text(true, url.tls ? 443 : 80), in.body);
    if (forwarded_.target != url.target || forwarded_.tls != url.tls) {
      forwarded_ = Upstream{url.target, url.tls, url.target.host, std::nullopt};
    }
    bool responded = false;
    std::string why;
    try {
      bool keep = co_await send_upstream(client_, forwarded_, in, head, event, responded);
      if (!keep) forwarded_.stream.reset();
      client_.log(event);
      co_return keep;
    } catch (const std::exception& e) {
      forwarded_.stream.reset();
      why = e.what();
    }
    co_await client_.fail_exchange(event, responded,
                                   "forwarding to " + url.target.text() + ": " + why);
    client_.log(event);
    co_return false;
  }

  asio::awaitable<void> connect(const http::Request& request) {
    auto target = parse_authority(request.target, 0);
    if (!target) {
      std::string reply = make_response(
          400, "uptls proxy: CONNECT needs host:port, not '" + request.target + "'\n", true);
      co_await client_.refuse(reply, 400, request, "local", "bad CONNECT target");
      co_return;
    }
    if (!port_allowed(target->port)) {
      std::string reply =
          make_response(403,
                        "uptls proxy: CONNECT to port " + std::to_string(target->port) +
                            " is not allowed (allowed ports are set with --allow-port)\n",
                        true);
      co_await client_.refuse(reply, 403, request, "local",
                              "port " + std::to_string(target->port) + " is not allowed");
      co_return;
    }
    ++client_.shared.tunnels;
    if (options_.authority) {
      co_await intercept(client_, request, *target);
    } else {
      co_await tunnel(request, *target);
    }
  }

  // A CONNECT tunnel relayed untouched.
  asio::awaitable<void> tunnel(const http::Request& request, const Target& target) {
    ProxyEvent event = client_.event_for(request, "tunnel");
    Upstream upstream{target, false, {}, std::nullopt};
    std::string why;
    try {
      co_await open_upstream(client_, upstream);
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (!upstream.stream) {
      co_await client_.fail_exchange(event, false, "cannot reach " + target.text() + ": " + why);
      client_.log(event);
      co_return;
    }
    static constexpr std::string_view established = "HTTP/1.1 200 Connection established\r\n\r\n";
    co_await client_.stream.write_all(established);
    event.status = 200;
    RelayOptions relay_options;
    relay_options.idle = client_.stream.timeouts().idle;
    relay_options.a_name = "client";
    relay_options.b_name = "upstream";
    RelayResult moved = co_await relay(client_.stream, *upstream.stream, relay_options);
    event.request_bytes = moved.a_to_b;
    event.response_bytes = moved.b_to_a;
    event.error = moved.message;
    client_.log(event);
  }

  Client client_;
  const ProxyOptions& options_;
  // The origin of the last forwarded request, kept for the next.
  Upstream forwarded_;
};

asio::awaitable<void> serve_client(std::shared_ptr<Shared> shared, Stream stream) {
  ++shared->open;
  struct Count {
    std::atomic<std::size_t>& open;
    ~Count() { --open; }
  } count{shared->open};
  Session session(*shared, stream);
  co_await session.run();
}

}  // namespace

Handler handler(ProxyOptions options, Connector connect) {
  auto shared = std::make_shared<Shared>(std::move(options), std::move(connect));
  return [shared](Stream stream) { return serve_client(shared, std::move(stream)); };
}

}  // namespace proxy

Handler proxy_handler(ProxyOptions options) { return proxy::handler(std::move(options), {}); }

}  // namespace uptls
