#include "uptls/stream_transport.hpp"

#include <gtest/gtest.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "uptls/error.hpp"
#include "uptls/stream.hpp"

// A Stream over another Asio stream: TLS inside TLS (what a connection to
// an origin through an HTTPS proxy is), and STARTTLS over a plain Asio
// socket; and the failures of the stream below reaching the one above.

namespace uptls {
namespace {

using asio::awaitable;
using namespace asio::experimental::awaitable_operators;
using test::caught;
using test::memory_pair;
using test::pki;
using test::read_to_end;
using test::run;

// Two TLS streams over a memory pair (the outer session: a client and
// the proxy's end), each carrying a second, inner TLS session.
struct Nested {
  std::optional<Stream> client, origin;
};

awaitable<Nested> nested(const asio::any_io_executor& executor) {
  auto pair = memory_pair(executor);
  Stream outer_client(std::move(pair.client), pki().client, "localhost");
  Stream outer_server(std::move(pair.server), pki().server);
  co_await (outer_client.start_tls() && outer_server.start_tls());
  Nested inner;
  inner.client.emplace(stream_transport(std::move(outer_client), "origin via the tunnel"),
                       pki().client, "localhost");
  inner.origin.emplace(stream_transport(std::move(outer_server), "client via the tunnel"),
                       pki().server);
  co_return inner;
}

TEST(StreamTransport, TlsRunsInsideTlsBothWaysWithHalfCloses) {
  run([]() -> awaitable<void> {
    Nested inner = co_await nested(co_await asio::this_coro::executor);
    co_await (inner.client->start_tls() && inner.origin->start_tls());
    EXPECT_TRUE(inner.client->is_tls());
    auto info = inner.client->tls_info();
    EXPECT_TRUE(info && !info->version.empty());
    std::string up(300'000, '\0');
    for (std::size_t i = 0; i < up.size(); ++i) up[i] = static_cast<char>(i * 7 % 251);
    auto client_side = [&]() -> awaitable<std::string> {
      co_await inner.client->write_all(up);
      co_await inner.client->shutdown_send();
      co_return co_await read_to_end(*inner.client);
    };
    auto origin_side = [&]() -> awaitable<std::string> {
      std::string got = co_await read_to_end(*inner.origin);
      co_await inner.origin->write_all("got " + std::to_string(got.size()));
      co_await inner.origin->shutdown_send();
      co_return got;
    };
    auto [at_client, at_origin] = co_await (client_side() && origin_side());
    EXPECT_TRUE(at_origin == up) << "the bytes changed on the way";
    EXPECT_EQ(at_client, "got 300000");
  });
}

TEST(StreamTransport, StartTlsOverAPlainAsioSocket) {
  run([]() -> awaitable<void> {
    auto [accepted, connecting] = test::connected_pair(co_await asio::this_coro::executor);
    Stream server(stream_transport(std::move(accepted), "the client"), pki().server);
    Stream client(stream_transport(std::move(connecting), "the server"), pki().client, "localhost");
    co_await client.write_all("STARTTLS\r\n");
    auto line = co_await server.read_line();
    EXPECT_EQ(line.value_or(""), "STARTTLS");
    co_await server.write_all("OK\r\n");
    auto reply = co_await client.read_line();
    EXPECT_EQ(reply.value_or(""), "OK");
    co_await (client.start_tls() && server.start_tls());
    co_await client.write_all("inside\r\n");
    auto inside = co_await server.read_line();
    EXPECT_EQ(inside.value_or(""), "inside");
    EXPECT_EQ(server.peer(), "the client");
  });
}

// A Stream (above) over a Stream over a memory pair, and the pair's far end.
struct Layered {
  explicit Layered(const asio::any_io_executor& executor) {
    auto pair = memory_pair(executor);
    link = pair.link;
    far.emplace(std::move(pair.server), Role::server);
    above.emplace(stream_transport(Stream(std::move(pair.client), Role::client), "the origin"),
                  Role::client);
  }
  std::shared_ptr<test::MemoryLink> link;
  std::optional<Stream> far, above;
};

TEST(StreamTransport, TheFailureOfTheStreamBelowReachesTheOneAbove) {
  run([]() -> awaitable<void> {
    Layered layered(co_await asio::this_coro::executor);
    layered.link->reset();
    test::Caught failure = co_await caught(layered.above->read_line());
    EXPECT_TRUE(failure.code) << "a reset below is no clean end above";
    EXPECT_NE(failure.message.find("the origin"), std::string::npos) << failure.message;
  });
}

TEST(StreamTransport, ACleanEndBelowIsACleanEndAbove) {
  run([]() -> awaitable<void> {
    Layered layered(co_await asio::this_coro::executor);
    co_await layered.far->write_all("last line\r\n");
    co_await layered.far->shutdown_send();
    auto line = co_await layered.above->read_line();
    EXPECT_EQ(line.value_or(""), "last line");
    auto end = co_await layered.above->read_line();
    EXPECT_FALSE(end.has_value());
  });
}

TEST(StreamTransport, DeadlinesAndAbortCoverTheWaitsOnTheStreamBelow) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    Layered silent_peer(executor);
    Timeouts timeouts;
    timeouts.read = std::chrono::milliseconds(20);
    silent_peer.above->set_timeouts(timeouts);
    test::Caught silent = co_await caught(silent_peer.above->read_line());
    EXPECT_EQ(silent.code, errc::read_timeout) << silent.message;

    Layered waiting(executor);
    auto abort_soon = [&]() -> awaitable<void> {
      co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
      waiting.above->abort();
    };
    test::Caught aborted = co_await (caught(waiting.above->read_line()) && abort_soon());
    EXPECT_EQ(aborted.code, errc::stream_closed) << aborted.message;
  });
}

}  // namespace
}  // namespace uptls
