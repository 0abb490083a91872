#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <future>

#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "unit/starttls/dialogue_support.hpp"
#include "uptls/relay.hpp"
#include "uptls/starttls.hpp"

// The Asio forms of the STARTTLS dialogues, relay and the stream's
// upgrades: any completion token, a failure never completing with success,
// and its whole message kept beside the code.

namespace uptls::starttls {
namespace {

using asio::awaitable;
using asio::experimental::as_tuple;

TEST(AsyncClient, CompletesWithTheLearnedCapabilitiesByDefaultToken) {
  test::run([]() -> awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto executor = co_await asio::this_coro::executor;
    auto pair = test::memory_pair(executor);
    Stream client(std::move(pair.client), test::pki().client, "localhost");
    Stream server(std::move(pair.server), test::pki().server);
    auto serve = [&]() -> awaitable<Learned> {
      Learned learned = co_await async_server(server, Protocol::pop3);
      co_await sessions::serve(server, Protocol::pop3, learned, {});
      co_await server.close();
      co_return learned;
    };
    auto talk = [&]() -> awaitable<Learned> {
      Learned learned = co_await async_client(client, Protocol::pop3);
      co_await client.close();
      co_return learned;
    };
    auto [c, s] = co_await (talk() && serve());
    EXPECT_TRUE(c.tls);
    EXPECT_TRUE(s.tls);
    EXPECT_TRUE(client.is_tls() || client.is_closed());
    EXPECT_FALSE(c.capabilities.empty());
  });
}

// A server without STLS: the code is starttls_unavailable (never success),
// and the stream keeps the message quoting the server.
TEST(AsyncClient, AFailureCompletesWithItsCodeAndKeepsItsMessage) {
  test::run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto pair = test::memory_pair(executor);
    Stream client(std::move(pair.client), test::pki().client, "localhost");
    co_await test::raw_write(*pair.server, "+OK hi\r\n+OK\r\nUIDL\r\n.\r\n");
    auto [code, learned] =
        co_await async_client(client, Protocol::pop3, as_tuple(asio::use_awaitable));
    EXPECT_EQ(code, make_error_code(errc::starttls_unavailable));
    EXPECT_FALSE(learned.tls);
    EXPECT_NE(client.error_message().find("UIDL"), std::string::npos) << client.error_message();
  });
}

// A callback and a future, the other two shapes of a token.
TEST(AsyncServer, CompletesACallbackAndAFuture) {
  asio::io_context io;
  auto pair = test::memory_pair(io.get_executor());
  Stream server(std::move(pair.server), test::pki().server);
  std::error_code code;
  bool called = false;
  ServerDialogueOptions options;
  async_server(server, Protocol::smtp, options, [&](std::error_code ec, Learned learned) {
    called = true;
    code = ec;
    EXPECT_TRUE(learned.client_left);
  });
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        co_await test::raw_write(*pair.client, "QUIT\r\n");
        std::error_code ignored;
        pair.client->shutdown_send(ignored);
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(called);
  EXPECT_FALSE(code) << code.message();

  asio::io_context other;
  auto second = test::memory_pair(other.get_executor());
  Stream refusing(std::move(second.server), test::pki().server);
  std::future<Learned> future = async_server(refusing, Protocol::smtp, asio::use_future);
  asio::co_spawn(
      other,
      [&]() -> awaitable<void> {
        co_await test::raw_write(*second.client, "EHLO c\r\nSTARTTLS\r\nMAIL FROM:<a@b>\r\n");
      },
      asio::detached);
  other.run();
  try {
    future.get();
    ADD_FAILURE() << "a command pipelined after STARTTLS completed with success";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::injected_plaintext));
  }
  EXPECT_NE(refusing.error_message().find("MAIL FROM"), std::string::npos)
      << refusing.error_message();
}

TEST(AsyncRun, DrivesAnyDialogue) {
  test::run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto pair = test::memory_pair(executor);
    Stream client(std::move(pair.client), test::pki().client, "localhost");
    co_await test::raw_write(*pair.server, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
    auto tunnel = make_http_connect("mail.example.org:25");
    auto [code, learned] = co_await async_run(client, *tunnel, as_tuple(asio::use_awaitable));
    EXPECT_EQ(code, make_error_code(errc::protocol_error));
    EXPECT_NE(client.error_message().find("407"), std::string::npos) << client.error_message();
  });
}

}  // namespace
}  // namespace uptls::starttls

namespace uptls {
namespace {

using asio::awaitable;
using asio::experimental::as_tuple;

TEST(AsyncStream, StopTlsOnPlaintextFailsWithItsMessage) {
  test::run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto pair = test::memory_pair(executor);
    Stream client(std::move(pair.client), test::pki().client, "localhost");
    auto [code] = co_await client.async_stop_tls(as_tuple(asio::use_awaitable));
    EXPECT_EQ(code, make_error_code(errc::stream_closed));
    EXPECT_FALSE(client.error_message().empty());
  });
}

TEST(AsyncStream, ReadMoreSaysFalseAtTheEnd) {
  test::run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto pair = test::memory_pair(executor);
    Stream server(std::move(pair.server), test::pki().server);
    co_await test::raw_write(*pair.client, "ab");
    std::error_code ignored;
    pair.client->shutdown_send(ignored);
    auto deadline = std::chrono::steady_clock::time_point::max();
    EXPECT_TRUE(co_await server.async_read_more(deadline));
    EXPECT_EQ(server.buffered_bytes(), "ab");
    EXPECT_FALSE(co_await server.async_read_more(deadline));
  });
}

// The other role's configuration is refused at the call, with a code.
TEST(AsyncStream, StartTlsWithAConfigurationOfTheWrongRoleFails) {
  test::run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto pair = test::memory_pair(executor);
    Stream client(std::move(pair.client), test::pki().client, "localhost");
    auto [code] = co_await client.async_start_tls(test::pki().server, "", CarryOver::role_default,
                                                  as_tuple(asio::use_awaitable));
    EXPECT_EQ(code, make_error_code(errc::invalid_argument));
    EXPECT_FALSE(client.error_message().empty());
  });
}

TEST(AsyncRelay, CompletesWithTheBytesEachWay) {
  test::run([]() -> awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto executor = co_await asio::this_coro::executor;
    auto left = test::memory_pair(executor);
    auto right = test::memory_pair(executor);
    Stream near(std::move(left.client), Role::client);
    Stream a(std::move(left.server), Role::server);
    Stream b(std::move(right.client), Role::client);
    Stream far(std::move(right.server), Role::server);
    auto peers = [&]() -> awaitable<std::string> {
      co_await near.write_all("hello");
      co_await near.shutdown_send();
      std::string got = co_await far.read_exactly(5);
      co_await far.write_all("hi");
      co_await far.shutdown_send();
      co_return got + " " + co_await near.read_exactly(2);
    };
    // The awaitable operators flatten (code, result) and the peers' string.
    auto [code, result, got] =
        co_await (async_relay(a, b, RelayOptions(), as_tuple(asio::use_awaitable)) && peers());
    EXPECT_EQ(got, "hello hi");
    EXPECT_EQ(result.a_to_b, 5u);
    EXPECT_EQ(result.b_to_a, 2u);
    EXPECT_FALSE(code) << result.message;
    EXPECT_EQ(code, result.error);
  });
}

}  // namespace
}  // namespace uptls
