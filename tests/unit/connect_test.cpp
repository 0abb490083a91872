#include "uptls/connect.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>

#include "support/support.hpp"
#include "uptls/error.hpp"
#include "uptls/server.hpp"

namespace uptls {
namespace {

using asio::awaitable;
using test::caught;
using test::pki;
using test::run;

TEST(OpenConnection, RefusedPortIsASystemError) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    std::uint16_t port = 0;
    {
      asio::ip::tcp::acceptor probe(executor, {asio::ip::make_address("127.0.0.1"), 0});
      port = probe.local_endpoint().port();
    }
    std::string host = "127.0.0.1";
    auto error = co_await caught(open_connection(host, port));
    EXPECT_EQ(error.code, std::errc::connection_refused) << error.message;
    EXPECT_NE(error.message.find("127.0.0.1 port " + std::to_string(port)), std::string::npos);
  });
}

TEST(OpenConnection, UpgradeableStoresTheConfiguration) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
    ConnectOptions options;
    options.tls = pki().client;
    options.upgradeable = true;
    std::string host = "127.0.0.1";
    Stream stream = co_await open_connection(host, acceptor.local_endpoint().port(), options);
    EXPECT_FALSE(stream.is_tls());
    EXPECT_TRUE(stream.upgradeable());
    EXPECT_EQ(stream.role(), Role::client);
    EXPECT_EQ(stream.remote_endpoint(), acceptor.local_endpoint());
  });
}

TEST(OpenConnection, ImplicitTlsFailsCleanlyAgainstAPlaintextPeer) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
    asio::co_spawn(
        executor,
        [&]() -> awaitable<void> {
          auto socket = co_await acceptor.async_accept(asio::use_awaitable);
          co_await test::raw_write(socket, "220 plaintext server\r\n");
          co_await test::raw_read_to_end(socket);
        },
        asio::detached);
    ConnectOptions options;
    options.tls = pki().client;
    options.server_name = "localhost";
    std::string host = "127.0.0.1";
    auto error = co_await caught(open_connection(host, acceptor.local_endpoint().port(), options));
    EXPECT_EQ(error.code.category(), tls_category()) << error.message;
    EXPECT_NE(error.message.find("TLS handshake failed"), std::string::npos) << error.message;
  });
}

// A listener whose accept queue is full drops new SYNs, so a connect to it
// hangs: the connect timeout must end it.
TEST(OpenConnection, ConnectTimeoutEndsAHangingConnect) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::acceptor acceptor(executor);
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(endpoint.protocol());
    acceptor.bind(endpoint);
    acceptor.listen(0);
    std::vector<asio::ip::tcp::socket> queued;
    for (int i = 0; i < 4; ++i) {
      queued.emplace_back(executor);
      queued.back().open(asio::ip::tcp::v4());
      queued.back().native_non_blocking(true);
      // Asio's own connect would wait for the SYN retries; only start it.
      auto target = acceptor.local_endpoint();
      ::connect(queued.back().native_handle(), target.data(),
                static_cast<socklen_t>(target.size()));
    }
    ConnectOptions options;
    options.connect_timeout = std::chrono::milliseconds(300);
    std::string host = "127.0.0.1";
    auto error = co_await caught(open_connection(host, acceptor.local_endpoint().port(), options));
    EXPECT_EQ(error.code, errc::connect_timeout) << error.message;
    EXPECT_NE(error.message.find("did not finish within 300 ms"), std::string::npos)
        << error.message;
  });
}

// A callback user gets the whole message, not a bare code: on failure the
// Stream the operation completes with is closed and holds it.
TEST(AsyncOpenConnection, FailureKeepsItsMessage) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
    asio::co_spawn(
        executor,
        [&]() -> awaitable<void> {
          auto socket = co_await acceptor.async_accept(asio::use_awaitable);
          co_await test::raw_read_to_end(socket);
        },
        asio::detached);
    ConnectOptions options;
    options.tls = pki().client;
    options.server_name = "localhost";
    options.timeouts.handshake = std::chrono::milliseconds(200);
    auto [ec, stream] =
        co_await async_open_connection(executor, "127.0.0.1", acceptor.local_endpoint().port(),
                                       options, asio::experimental::as_tuple(asio::use_awaitable));
    EXPECT_EQ(ec, errc::handshake_timeout) << stream.error_message();
    EXPECT_TRUE(stream.is_closed());
    EXPECT_NE(stream.error_message().find("did not finish within 200 ms"), std::string::npos)
        << stream.error_message();
  });
}

TEST(AsyncOpenConnection, VerificationFailureNamesTheNames) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    Server server = co_await start_server(
        [](Stream stream) -> awaitable<void> { co_await stream.close(); }, "127.0.0.1", 0,
        [] {
          ServeOptions serve;
          serve.tls = pki().server;
          return serve;
        }());
    ConnectOptions options;
    options.tls = pki().client;
    options.server_name = "a.example";
    std::error_code code;
    std::string message;
    async_open_connection(executor, "127.0.0.1", server.local_endpoint().port(), options,
                          [&](std::error_code ec, Stream stream) {
                            code = ec;
                            message = stream.error_message();
                          });
    asio::steady_timer wait(executor);
    for (int i = 0; i < 500 && !code; ++i) {
      wait.expires_after(std::chrono::milliseconds(10));
      co_await wait.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(code.category(), verify_category()) << message;
    EXPECT_NE(message.find("'a.example' not in certificate names"), std::string::npos) << message;
    co_await server.stop();
  });
}

}  // namespace
}  // namespace uptls
