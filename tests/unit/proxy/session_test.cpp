#include "proxy/session.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <vector>

#include "proxy/message.hpp"
#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "uptls/error.hpp"

// A whole proxy connection over the memory transport: the test is the
// client, the origins are scripted, each upstream connection the proxy
// opens goes to the next of them. What a user of `uptls proxy` checks:
// what reaches the origin, what the client gets, what is logged.

namespace uptls::proxy {
namespace {

using asio::awaitable;
using test::memory_pair;
using test::run;

// One scripted origin connection: given the proxy's stream, already
// upgraded when the proxy asked for TLS.
using Origin = std::function<awaitable<void>(Stream&)>;

struct Harness {
  Harness(const asio::any_io_executor& executor, ProxyOptions options,
          std::vector<Origin> scripted = {})
      : origins(std::move(scripted)), served(executor, asio::steady_timer::time_point::max()) {
    options.log = [this](const ProxyEvent& event) { events.push_back(event); };
    auto pair = memory_pair(executor);
    std::shared_ptr<const tls::ClientConfig> trust = test::pki().client;
    if (options.authority) {
      tls::ClientOptions verify;
      verify.trust.ca_pem = options.authority->ca_pem();
      trust = tls::ClientConfig::make(verify);
    }
    client.emplace(std::move(pair.client), trust, "localhost");
    Handler serve = handler(std::move(options), [this](const proxy::Reach& reach) {
      return connect(reach.target, reach.tls, reach.server_name, reach.timeouts);
    });
    asio::co_spawn(executor, serve(Stream(std::move(pair.server), Role::server)),
                   [this](std::exception_ptr) {
                     done = true;
                     served.cancel();
                   });
  }

  // Ends the client's side and waits for the proxy's connection to end,
  // so that everything it logs is in `events`.
  awaitable<void> finish() {
    client->abort();
    if (!done) co_await served.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }

  awaitable<Stream> connect(const Target& target, bool tls, const std::string& name,
                            const Timeouts& timeouts) {
    connects.push_back(target.text() + (tls ? " tls " + name : ""));
    if (connects.size() > origins.size()) {
      throw Error(std::make_error_code(std::errc::connection_refused), "connection refused");
    }
    auto executor = co_await asio::this_coro::executor;
    auto pair = memory_pair(executor);
    Stream up(std::move(pair.client), test::pki().client, "localhost");
    up.set_timeouts(timeouts);
    asio::co_spawn(executor,
                   origin_side(Stream(std::move(pair.server), test::pki().server), tls,
                               origins[connects.size() - 1]),
                   asio::detached);
    if (tls) co_await up.start_tls();
    co_return up;
  }

  static awaitable<void> origin_side(Stream stream, bool tls, Origin script) {
    try {
      if (tls) co_await stream.start_tls();
      co_await script(stream);
    } catch (const std::exception&) {
    }
  }

  std::vector<Origin> origins;
  std::vector<std::string> connects;
  std::vector<ProxyEvent> events;
  std::optional<Stream> client;
  bool done = false;
  asio::steady_timer served;
};

// An origin that reads one head, keeps it, and answers with `reply`; it
// reads the next one when `more` (a kept connection), else closes.
Origin answering(std::vector<std::string>& heads, std::string reply, int requests = 1) {
  return [&heads, reply, requests](Stream& stream) -> awaitable<void> {
    for (int i = 0; i < requests; ++i) {
      std::string head = co_await read_head(stream, http::Limits(), false);
      if (head.empty()) co_return;
      heads.push_back(head);
      co_await stream.write_all(reply);
    }
    co_await stream.shutdown_send();
  };
}

// Reads one response from the proxy: its head, and a body of the length
// its Content-Length says.
awaitable<std::string> response(Stream& stream) {
  std::string head = co_await read_head(stream, http::Limits(), false);
  http::Response parsed;
  if (http::parse_response(head, parsed, http::Limits()).parse != http::Parse::done) co_return head;
  http::Framing body = http::response_framing(parsed, "GET");
  std::string all = head;
  std::string chunk(static_cast<std::size_t>(body.length), '\0');
  std::size_t done = 0;
  while (body.kind == http::BodyKind::length && done < chunk.size()) {
    std::size_t n =
        co_await stream.read_some(asio::buffer(chunk.data() + done, chunk.size() - done));
    if (n == 0) break;
    done += n;
  }
  co_return all + chunk.substr(0, done);
}

// What the proxy sent until it ended the connection, cleanly or not.
awaitable<std::string> read_to_end(Stream& stream) {
  std::string all;
  try {
    all = co_await test::read_to_end(stream);
  } catch (const std::system_error&) {
  }
  co_return all;
}

// Lists built outside the coroutines (GCC 12 cannot keep an
// initializer_list's array in a coroutine frame).
template <typename... Scripts>
std::vector<Origin> scripted(Scripts... scripts) {
  std::vector<Origin> all;
  (all.push_back(std::move(scripts)), ...);
  return all;
}

std::vector<std::string> names(std::string name) {
  std::vector<std::string> all;
  all.push_back(std::move(name));
  return all;
}

ProxyOptions intercepting() {
  ProxyOptions options;
  options.authority = std::make_shared<tls::DevAuthority>("proxy test CA");
  return options;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

constexpr std::string_view ok_hi = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

TEST(ProxySession, ForwardsInOriginFormAndKeepsTheUpstreamForTheSameOrigin) {
  std::vector<std::string> heads;
  run([&]() -> awaitable<void> {
    Harness proxy(co_await asio::this_coro::executor, ProxyOptions(),
                  scripted(answering(heads, std::string(ok_hi), 2)));
    Stream& client = *proxy.client;
    co_await client.write_all(
        "GET http://origin.test:8080/a?b HTTP/1.1\r\nHost: origin.test:8080\r\n"
        "Proxy-Connection: keep-alive\r\nConnection: X-Hop\r\nX-Hop: 1\r\nX-End: 2\r\n\r\n");
    std::string first = co_await response(client);
    EXPECT_TRUE(contains(first, "\r\n\r\nhi"));
    co_await client.write_all(
        "GET http://origin.test:8080/c HTTP/1.1\r\nHost: origin.test:8080\r\n\r\n");
    std::string second = co_await response(client);
    EXPECT_TRUE(contains(second, "\r\n\r\nhi"));
    EXPECT_EQ(proxy.connects, names("origin.test:8080"))
        << "one upstream connection for both requests";
    EXPECT_EQ(heads.size(), 2u);
    if (heads.size() != 2u) co_return;
    EXPECT_EQ(heads[0], "GET /a?b HTTP/1.1\r\nHost: origin.test:8080\r\nX-End: 2\r\n\r\n");
    EXPECT_EQ(heads[1], "GET /c HTTP/1.1\r\nHost: origin.test:8080\r\n\r\n");
    co_await proxy.finish();
    EXPECT_EQ(proxy.events.size(), 2u);
    if (proxy.events.size() != 2u) co_return;
    EXPECT_EQ(proxy.events[0].mode, "forward");
    EXPECT_EQ(proxy.events[0].status, 200);
    EXPECT_EQ(proxy.events[0].response_bytes, 2u);
    EXPECT_EQ(proxy.events[0].url, "http://origin.test:8080/a?b");
  });
}

TEST(ProxySession, AKeptConnectionTheOriginClosedIsOpenedAgainForABodilessRequest) {
  std::vector<std::string> heads;
  run([&]() -> awaitable<void> {
    Harness proxy(
        co_await asio::this_coro::executor, ProxyOptions(),
        scripted(answering(heads, std::string(ok_hi)), answering(heads, std::string(ok_hi))));
    Stream& client = *proxy.client;
    co_await client.write_all("GET http://o.test/1 HTTP/1.1\r\nHost: o.test\r\n\r\n");
    co_await response(client);
    co_await client.write_all("GET http://o.test/2 HTTP/1.1\r\nHost: o.test\r\n\r\n");
    std::string retried = co_await response(client);
    EXPECT_TRUE(contains(retried, "200 OK"));
    EXPECT_EQ(proxy.connects.size(), 2u);
    EXPECT_EQ(heads.size(), 2u);
  });
}

TEST(ProxySession, ABodyIsNeverSentTwice) {
  std::vector<std::string> heads;
  run([&]() -> awaitable<void> {
    Harness proxy(
        co_await asio::this_coro::executor, ProxyOptions(),
        scripted(answering(heads, std::string(ok_hi)), answering(heads, std::string(ok_hi))));
    Stream& client = *proxy.client;
    co_await client.write_all("GET http://o.test/1 HTTP/1.1\r\nHost: o.test\r\n\r\n");
    co_await response(client);
    co_await client.write_all(
        "POST http://o.test/2 HTTP/1.1\r\nHost: o.test\r\nContent-Length: 4\r\n\r\nbody");
    std::string reply = co_await read_to_end(client);
    EXPECT_TRUE(contains(reply, "HTTP/1.1 502 Bad Gateway")) << reply;
    EXPECT_TRUE(contains(reply, "forwarding to o.test:80: ")) << reply;
    EXPECT_EQ(proxy.connects.size(), 1u) << "the kept connection failed: no second try";
    co_await proxy.finish();
    EXPECT_EQ(proxy.events.back().status, 502);
    EXPECT_FALSE(proxy.events.back().error.empty());
  });
}

TEST(ProxySession, FramingTheClientNamesAsHopByHopIsRefused) {
  run([&]() -> awaitable<void> {
    Harness proxy(co_await asio::this_coro::executor, ProxyOptions());
    Stream& client = *proxy.client;
    co_await client.write_all(
        "POST http://o.test/ HTTP/1.1\r\nHost: o.test\r\nContent-Length: 5\r\n"
        "Connection: Content-Length\r\n\r\nhello");
    std::string reply = co_await read_to_end(client);
    EXPECT_TRUE(contains(reply, "HTTP/1.1 400 Bad Request")) << reply;
    EXPECT_TRUE(proxy.connects.empty()) << "nothing went upstream";
    co_await proxy.finish();
    EXPECT_EQ(proxy.events.size(), 1u);
    if (proxy.events.size() != 1u) co_return;
    EXPECT_TRUE(contains(proxy.events[0].error, "malformed request")) << proxy.events[0].error;
  });
}

TEST(ProxySession, AMalformedOriginResponseIsA502) {
  std::vector<std::string> heads;
  run([&]() -> awaitable<void> {
    Harness proxy(co_await asio::this_coro::executor, ProxyOptions(),
                  scripted(answering(heads, "HTTP/9 nonsense\r\n\r\n")));
    Stream& client = *proxy.client;
    co_await client.write_all("GET http://o.test/ HTTP/1.1\r\nHost: o.test\r\n\r\n");
    std::string reply = co_await read_to_end(client);
    EXPECT_TRUE(contains(reply, "502 Bad Gateway")) << reply;
    EXPECT_TRUE(contains(reply, "the upstream's response is malformed")) << reply;
  });
}

TEST(ProxySession, CredentialsAreRequiredWhenSet) {
  run([&]() -> awaitable<void> {
    ProxyOptions options;
    options.basic_auth = "user:secret";
    Harness proxy(co_await asio::this_coro::executor, options);
    Stream& client = *proxy.client;
    co_await client.write_all("GET http://o.test/ HTTP/1.1\r\nHost: o.test\r\n\r\n");
    std::string reply = co_await read_to_end(client);
    EXPECT_TRUE(contains(reply, "HTTP/1.1 407 ")) << reply;
    EXPECT_TRUE(contains(reply, "Proxy-Authenticate: Basic")) << reply;
    EXPECT_TRUE(proxy.connects.empty());

    Harness right(co_await asio::this_coro::executor, options);
    // base64("user:secret")
    co_await right.client->write_all(
        "GET / HTTP/1.1\r\nHost: proxy\r\nProxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n\r\n");
    std::string status = co_await response(*right.client);
    EXPECT_TRUE(contains(status, "HTTP/1.1 200 OK")) << status;
    EXPECT_TRUE(contains(status, "uptls proxy\nmode: tunnel")) << status;
  });
}

TEST(ProxySession, PortsOutsideTheAllowedOnesAreRefusedBeforeConnecting) {
  run([&]() -> awaitable<void> {
    Harness proxy(co_await asio::this_coro::executor, ProxyOptions());
    co_await proxy.client->write_all("CONNECT o.test:25 HTTP/1.1\r\nHost: o.test:25\r\n\r\n");
    std::string reply = co_await read_to_end(*proxy.client);
    EXPECT_TRUE(contains(reply, "HTTP/1.1 403 Forbidden")) << reply;
    EXPECT_TRUE(proxy.connects.empty());

    Harness https(co_await asio::this_coro::executor, ProxyOptions());
    co_await https.client->write_all("GET https://o.test:8443/ HTTP/1.1\r\nHost: o.test\r\n\r\n");
    std::string refused = co_await read_to_end(*https.client);
    EXPECT_TRUE(contains(refused, "HTTP/1.1 403 Forbidden"));
    EXPECT_TRUE(https.connects.empty());
  });
}

TEST(ProxySession, ATunnelRelaysBothWaysUntouched) {
  run([&]() -> awaitable<void> {
    Origin echo = [](Stream& stream) -> awaitable<void> {
      std::string got = co_await read_to_end(stream);
      co_await stream.write_all("echo:" + got);
      co_await stream.shutdown_send();
    };
    Harness proxy(co_await asio::this_coro::executor, ProxyOptions(), scripted(echo));
    Stream& client = *proxy.client;
    co_await client.write_all("CONNECT o.test:443 HTTP/1.1\r\nHost: o.test:443\r\n\r\n");
    std::string established = co_await read_head(client, http::Limits(), false);
    EXPECT_EQ(established, "HTTP/1.1 200 Connection established\r\n\r\n");
    co_await client.write_all(std::string("\0\x16\x03 raw bytes\r\n", 15));
    co_await client.shutdown_send();
    std::string echoed = co_await read_to_end(client);
    EXPECT_EQ(echoed, std::string("echo:\0\x16\x03 raw bytes\r\n", 20));
    EXPECT_EQ(proxy.connects, names("o.test:443"));
  });
}

TEST(ProxySession, AnInterceptedTunnelIsAnsweredWithAMintedCertificateAndForwarded) {
  std::vector<std::string> heads;
  run([&]() -> awaitable<void> {
    ProxyOptions options = intercepting();
    Harness proxy(co_await asio::this_coro::executor, options,
                  scripted(answering(heads, std::string(ok_hi))));
    Stream& client = *proxy.client;
    co_await client.write_all("CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n");
    std::string established = co_await read_head(client, http::Limits(), false);
    EXPECT_EQ(established, "HTTP/1.1 200 Connection established\r\n\r\n");
    co_await client.start_tls();
    co_await client.write_all(
        "GET /x HTTP/1.1\r\nHost: localhost\r\nProxy-Connection: keep-alive\r\nKeep-Alive: 1\r\n"
        "Connection: close\r\n\r\n");
    std::string reply = co_await read_to_end(client);
    EXPECT_TRUE(contains(reply, "\r\n\r\nhi")) << reply;
    EXPECT_EQ(proxy.connects, names("localhost:443 tls localhost"));
    EXPECT_EQ(heads.size(), 1u);
    if (heads.size() != 1u) co_return;
    EXPECT_EQ(heads[0], "GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        << "an intercepted request goes up as a forwarded one does";
    co_await proxy.finish();
    EXPECT_EQ(proxy.events.size(), 1u);
    if (proxy.events.size() != 1u) co_return;
    EXPECT_EQ(proxy.events[0].mode, "intercept");
    EXPECT_EQ(proxy.events[0].url, "https://localhost/x");
    EXPECT_EQ(proxy.events[0].status, 200);
  });
}

TEST(ProxySession, AnUnreachableInterceptedOriginIsA502InsideTheTunnel) {
  run([&]() -> awaitable<void> {
    ProxyOptions options = intercepting();
    Harness proxy(co_await asio::this_coro::executor, options);
    Stream& client = *proxy.client;
    co_await client.write_all("CONNECT localhost:443 HTTP/1.1\r\n\r\n");
    co_await read_head(client, http::Limits(), false);
    co_await client.start_tls();
    co_await client.write_all("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    std::string reply = co_await read_to_end(client);
    EXPECT_TRUE(contains(reply, "502 Bad Gateway")) << reply;
    EXPECT_TRUE(contains(reply, "cannot reach https://localhost: connection refused")) << reply;
  });
}

TEST(ProxySession, AClientHandshakeThatFailsIsLogged) {
  run([&]() -> awaitable<void> {
    ProxyOptions options = intercepting();
    Harness proxy(co_await asio::this_coro::executor, options);
    Stream& client = *proxy.client;
    co_await client.write_all("CONNECT localhost:443 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    co_await read_to_end(client);
    co_await proxy.finish();
    EXPECT_EQ(proxy.events.size(), 1u);
    if (proxy.events.size() != 1u) co_return;
    EXPECT_TRUE(contains(proxy.events[0].error, "the client's TLS handshake failed"))
        << proxy.events[0].error;
    EXPECT_TRUE(proxy.connects.empty());
  });
}

TEST(ProxySession, AnOversizedHeadIsA431) {
  run([&]() -> awaitable<void> {
    ProxyOptions options;
    options.limits.max_line = 64;
    Harness proxy(co_await asio::this_coro::executor, options);
    co_await proxy.client->write_all("GET http://o.test/ HTTP/1.1\r\nX: " + std::string(100, 'a') +
                                     "\r\n\r\n");
    std::string reply = co_await read_to_end(*proxy.client);
    EXPECT_TRUE(contains(reply, "HTTP/1.1 431 ")) << reply;
    EXPECT_TRUE(proxy.connects.empty());
  });
}

}  // namespace
}  // namespace uptls::proxy
