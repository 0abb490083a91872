#include "uptls/relay.hpp"

#include <gtest/gtest.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>

#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "uptls/error.hpp"

// relay() between two streams over the in-memory transport: what a tunnel
// does after CONNECT. The outer ends are the test's: a client and an origin.

namespace uptls {
namespace {

using asio::awaitable;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using test::memory_pair;
using test::pki;
using test::read_to_end;
using test::run;

/// client <-> [a  relay  b] <-> origin, each side a connected pair of streams.
struct Tunnel {
  explicit Tunnel(const asio::any_io_executor& executor) {
    auto front = memory_pair(executor);
    client.emplace(std::move(front.client), pki().client, "localhost");
    a.emplace(std::move(front.server), pki().server);
    auto back = memory_pair(executor);
    b.emplace(std::move(back.client), pki().client, "localhost");
    origin.emplace(std::move(back.server), pki().server);
    front_link = front.link;
    back_link = back.link;
  }
  /// Upgrades both legs, as an intercepting proxy does.
  awaitable<void> upgrade() {
    co_await (client->start_tls() && a->start_tls());
    co_await (b->start_tls() && origin->start_tls());
  }
  std::optional<Stream> client, a, b, origin;
  std::shared_ptr<test::MemoryLink> front_link, back_link;
};

/// The client sends and half-closes, the origin answers after the end and
/// half-closes: both directions arrive whole, each end seen as an end.
/// `sent_before`: bytes the client sent earlier, still in a's buffer, which
/// must reach the origin first.
template <typename AnyTunnel>
awaitable<void> exchange(AnyTunnel& tunnel, const std::string& up, const std::string& down,
                         const std::string& sent_before = {}) {
  auto client_side = [&]() -> awaitable<std::string> {
    co_await tunnel.client->write_all(up);
    co_await tunnel.client->shutdown_send();
    co_return co_await read_to_end(*tunnel.client);
  };
  auto origin_side = [&]() -> awaitable<std::string> {
    std::string got = co_await read_to_end(*tunnel.origin);
    co_await tunnel.origin->write_all(down);
    co_await tunnel.origin->shutdown_send();
    co_return got;
  };
  RelayOptions options;
  auto [moved, at_client, at_origin] =
      co_await (relay(*tunnel.a, *tunnel.b, options) && client_side() && origin_side());
  EXPECT_TRUE(at_origin == sent_before + up) << "the bytes changed on the way";
  EXPECT_TRUE(at_client == down) << "the bytes changed on the way";
  EXPECT_EQ(moved.a_to_b, sent_before.size() + up.size());
  EXPECT_EQ(moved.b_to_a, down.size());
  EXPECT_FALSE(moved.error) << moved.message;
}

TEST(Relay, PlaintextBothWaysWithHalfClosesPassedOn) {
  run([]() -> awaitable<void> {
    Tunnel tunnel(co_await asio::this_coro::executor);
    std::string big(300'000, 'u');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    co_await exchange(tunnel, big, "the answer, after the client's end");
  });
}

TEST(Relay, TlsBothWaysWithCloseNotifyPassedOn) {
  run([]() -> awaitable<void> {
    Tunnel tunnel(co_await asio::this_coro::executor);
    co_await tunnel.upgrade();
    co_await exchange(tunnel, std::string(100'000, 'x'), std::string(70'000, 'y'));
  });
}

TEST(Relay, BuffersGrowForBulkAndShrinkForTrickles) {
  run([]() -> awaitable<void> {
    Tunnel tunnel(co_await asio::this_coro::executor);
    std::string sent;
    auto client_side = [&]() -> awaitable<std::string> {
      auto executor = co_await asio::this_coro::executor;
      for (int round = 0; round < 3; ++round) {
        std::string bulk(150'000, static_cast<char>('A' + round));
        co_await tunnel.client->write_all(bulk);
        sent += bulk;
        for (int i = 0; i < 20; ++i) {
          std::string piece = "trickle " + std::to_string(round) + "." + std::to_string(i) + ";";
          co_await tunnel.client->write_all(piece);
          sent += piece;
          // Let the relay read each piece alone: a small read after big ones.
          for (int k = 0; k < 4; ++k) co_await asio::post(executor, asio::use_awaitable);
        }
      }
      co_await tunnel.client->shutdown_send();
      co_return co_await read_to_end(*tunnel.client);
    };
    auto origin_side = [&]() -> awaitable<std::string> {
      std::string got = co_await read_to_end(*tunnel.origin);
      co_await tunnel.origin->shutdown_send();
      co_return got;
    };
    auto [moved, at_client, at_origin] =
        co_await (relay(*tunnel.a, *tunnel.b, RelayOptions()) && client_side() && origin_side());
    EXPECT_FALSE(moved.error) << moved.message;
    EXPECT_EQ(at_origin.size(), sent.size());
    EXPECT_TRUE(at_origin == sent) << "the bytes changed on the way";
    EXPECT_EQ(at_client, "");
  });
}

TEST(Relay, AResetEndsBothSidesAndNamesTheSide) {
  run([]() -> awaitable<void> {
    Tunnel tunnel(co_await asio::this_coro::executor);
    // Not void: Asio 1.22's && cannot join a tuple with a void awaitable.
    auto origin_resets = [&]() -> awaitable<bool> {
      co_await tunnel.origin->read_exactly(5);
      tunnel.back_link->reset();
      co_return true;
    };
    auto client_side = [&]() -> awaitable<std::string> {
      co_await tunnel.client->write_all(std::string_view("hello"));
      try {
        co_return co_await read_to_end(*tunnel.client);
      } catch (const std::system_error&) {
        co_return std::string("failed");
      }
    };
    RelayOptions options;
    options.a_name = "client";
    options.b_name = "upstream";
    auto [moved, seen, reset] =
        co_await (relay(*tunnel.a, *tunnel.b, options) && client_side() && origin_resets());
    EXPECT_TRUE(reset);
    EXPECT_TRUE(moved.error);
    EXPECT_NE(moved.message.find("upstream"), std::string::npos) << moved.message;
    EXPECT_EQ(moved.a_to_b, 5u);
    // The client's side was aborted too: it sees an error or an end, never a hang.
    EXPECT_TRUE(seen.empty() || seen == "failed") << seen;
    EXPECT_TRUE(tunnel.a->is_closed());
  });
}

TEST(Relay, EndsWhenNothingMovesEitherWay) {
  run([]() -> awaitable<void> {
    Tunnel tunnel(co_await asio::this_coro::executor);
    RelayOptions options;
    options.idle = 50ms;
    RelayResult moved = co_await relay(*tunnel.a, *tunnel.b, options);
    EXPECT_EQ(moved.error, make_error_code(errc::idle_timeout));
    EXPECT_NE(moved.message.find("no byte moved either way for 50 ms"), std::string::npos)
        << moved.message;
  });
}

TEST(Relay, AOneWayStreamIsNotIdle) {
  run([]() -> awaitable<void> {
    Tunnel tunnel(co_await asio::this_coro::executor);
    // The client never sends; the origin sends a piece every 20 ms for
    // 300 ms: six idle periods for the client's direction, none for the tunnel.
    auto origin_side = [&]() -> awaitable<bool> {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      for (int i = 0; i < 15; ++i) {
        co_await tunnel.origin->write_all(std::string_view("piece"));
        timer.expires_after(20ms);
        co_await timer.async_wait(asio::use_awaitable);
      }
      co_await tunnel.origin->shutdown_send();
      co_return true;
    };
    auto client_side = [&]() -> awaitable<std::string> {
      std::string got = co_await read_to_end(*tunnel.client);
      co_await tunnel.client->shutdown_send();
      co_return got;
    };
    RelayOptions options;
    options.idle = 50ms;
    auto [moved, got, sent] =
        co_await (relay(*tunnel.a, *tunnel.b, options) && client_side() && origin_side());
    EXPECT_TRUE(sent);
    EXPECT_FALSE(moved.error) << moved.message;
    EXPECT_EQ(got.size(), 15u * 5);
    // The streams' own timeouts are back as they were.
    EXPECT_EQ(tunnel.a->timeouts().idle, Timeouts().idle);
  });
}

/// The same over loopback TCP: client <-> [a relay b] <-> origin, all sockets.
struct TcpTunnel {
  explicit TcpTunnel(const asio::any_io_executor& executor) {
    auto [front_server, front_client] = test::connected_pair(executor);
    auto [back_server, back_client] = test::connected_pair(executor);
    client.emplace(std::move(front_client), Role::client);
    a.emplace(std::move(front_server), Role::server);
    b.emplace(std::move(back_client), Role::client);
    origin.emplace(std::move(back_server), Role::server);
  }
  std::optional<Stream> client, a, b, origin;
};

TEST(Relay, TcpBytesAlreadyBufferedGoFirst) {
  run([]() -> awaitable<void> {
    TcpTunnel tunnel(co_await asio::this_coro::executor);
    std::string up(3'000'000, '\0');
    for (std::size_t i = 0; i < up.size(); ++i) up[i] = static_cast<char>(i * 7 % 251);
    std::string down(2'000'000, '\0');
    for (std::size_t i = 0; i < down.size(); ++i) down[i] = static_cast<char>(i * 13 % 241);
    // The proxy reads a line first (a CONNECT, say): what came with it stays
    // in a's buffer and must go first.
    co_await tunnel.client->write_all(std::string_view("CONNECT\nearly bytes;"));
    auto line = co_await tunnel.a->read_line();
    EXPECT_EQ(line, "CONNECT");
    co_await exchange(tunnel, up, down, "early bytes;");
  });
}

TEST(Relay, TcpOriginThatStopsReadingHitsTheWriteTimeout) {
  run([]() -> awaitable<void> {
    TcpTunnel tunnel(co_await asio::this_coro::executor);
    Timeouts timeouts;
    timeouts.write = 200ms;
    tunnel.b->set_timeouts(timeouts);
    // The origin never reads; the client sends until the relay gives up.
    auto client_side = [&]() -> awaitable<bool> {
      std::string piece(1 << 20, 'x');
      try {
        for (int i = 0; i < 256; ++i) co_await tunnel.client->write_all(piece);
      } catch (const std::system_error&) {
        co_return true;
      }
      co_return false;
    };
    RelayOptions options;
    options.a_name = "client";
    options.b_name = "origin";
    auto [moved, stopped] = co_await (relay(*tunnel.a, *tunnel.b, options) && client_side());
    EXPECT_EQ(moved.error, make_error_code(errc::write_timeout)) << moved.message;
    EXPECT_NE(moved.message.find("writing to origin"), std::string::npos) << moved.message;
    EXPECT_TRUE(stopped) << "the client's side was not ended";
  });
}

}  // namespace
}  // namespace uptls
