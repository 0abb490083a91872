#include <gtest/gtest.h>

#include <asio/experimental/awaitable_operators.hpp>

#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "uptls/error.hpp"
#include "uptls/stream.hpp"

// Stream::stop_tls (FTP's CCC): TLS ends with close_notify both ways, and
// the connection goes on in plaintext without losing or swallowing a byte.

namespace uptls {
namespace {

using namespace asio::experimental::awaitable_operators;
using test::pki;

struct Pair {
  explicit Pair(const asio::any_io_executor& executor) {
    auto pair = test::memory_pair(executor);
    client.emplace(std::move(pair.client), pki().client, "localhost");
    server.emplace(std::move(pair.server), pki().server);
  }
  std::optional<Stream> client, server;
};

TEST(StopTls, BothSidesGoOnInPlaintext) {
  test::run([]() -> asio::awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await (p.client->start_tls() && p.server->start_tls());
    auto server = [&]() -> asio::awaitable<std::string> {
      auto command = co_await p.server->read_line();
      co_await p.server->write_all("200 CCC ok\r\n");
      co_await p.server->stop_tls();
      // The client's first plaintext line, sent right after its close_notify.
      auto next = co_await p.server->read_line();
      co_return *command + "|" + next.value_or("(end)");
    };
    auto client = [&]() -> asio::awaitable<std::string> {
      co_await p.client->write_all("CCC\r\n");
      auto reply = co_await p.client->read_line();
      co_await p.client->stop_tls();
      co_await p.client->write_all("PWD\r\n");
      co_return *reply;
    };
    auto [seen, reply] = co_await (server() && client());
    EXPECT_EQ(seen, "CCC|PWD");
    EXPECT_EQ(reply, "200 CCC ok");
    EXPECT_FALSE(p.client->is_tls());
    EXPECT_FALSE(p.server->is_tls());
    co_await p.server->write_all("257 \"/\"\r\n");
    EXPECT_EQ(co_await p.client->read_line(), "257 \"/\"");
  });
}

TEST(StopTls, FailsOnAPlaintextStream) {
  test::run([]() -> asio::awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    auto caught = co_await test::caught(p.client->stop_tls());
    EXPECT_EQ(caught.code, make_error_code(errc::stream_closed));
  });
}

TEST(StopTls, APeerThatNeverSendsCloseNotifyTimesOut) {
  test::run([]() -> asio::awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await (p.client->start_tls() && p.server->start_tls());
    Timeouts timeouts;
    timeouts.close = std::chrono::milliseconds(200);
    p.server->set_timeouts(timeouts);
    auto caught = co_await test::caught(p.server->stop_tls());
    EXPECT_EQ(caught.code, make_error_code(errc::close_timeout));
    EXPECT_TRUE(p.server->is_closed());
  });
}

}  // namespace
}  // namespace uptls
