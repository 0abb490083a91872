#include "uptls/transport.hpp"

#include <gtest/gtest.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <filesystem>

#include <sys/socket.h>

#include "support/support.hpp"
#include "uptls/connect.hpp"
#include "uptls/error.hpp"
#include "uptls/server.hpp"
#include "uptls/stream.hpp"

namespace uptls {
namespace {

using asio::awaitable;
using test::caught;
using test::connected_pair;
using test::pki;
using test::run;

TEST(TcpTransport, ResetIsToldApartFromClose) {
  run([]() -> awaitable<void> {
    // SO_LINGER with a zero timeout makes close() send a reset.
    auto [server_socket, raw] = connected_pair(co_await asio::this_coro::executor);
    Stream server(std::move(server_socket), Role::server);
    raw.set_option(asio::socket_base::linger(true, 0));
    raw.close();
    auto error = co_await caught(server.read_line());
    EXPECT_EQ(error.code, std::errc::connection_reset) << error.message;
  });
}

TEST(TcpTransport, NamesItsPeerAndEndpoints) {
  run([]() -> awaitable<void> {
    auto [server_socket, client_socket] = connected_pair(co_await asio::this_coro::executor);
    auto client_port = client_socket.local_endpoint().port();
    Stream server(std::move(server_socket), Role::server);
    EXPECT_EQ(server.peer(), "127.0.0.1:" + std::to_string(client_port));
    EXPECT_EQ(server.remote_endpoint().port(), client_port);
    co_return;
  });
}

// Socket options a stream does not set itself (keepalive) go through its
// transport's descriptor.
TEST(TcpTransport, ItsSocketTakesOptionsThroughTheStream) {
  run([]() -> awaitable<void> {
    auto [server_socket, client_socket] = connected_pair(co_await asio::this_coro::executor);
    Stream server(std::move(server_socket), Role::server);
    int fd = server.transport().native_socket();
    EXPECT_GE(fd, 0);
    int on = 1;
    EXPECT_EQ(::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on), 0);
    int got = 0;
    socklen_t size = sizeof got;
    EXPECT_EQ(::getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &got, &size), 0);
    EXPECT_EQ(got, 1);
    EXPECT_EQ(server.native_handle(), nullptr) << "no SSL before the upgrade";
    server.abort();
    EXPECT_EQ(server.transport().native_socket(), -1) << "closed: no descriptor";
    co_return;
  });
}

// Log lines about a connection that failed are written after it is gone:
// they must still name the peer, not "peer".
TEST(TcpTransport, NamesItsPeerAfterTheConnectionIsGone) {
  run([]() -> awaitable<void> {
    auto [server_socket, client_socket] = connected_pair(co_await asio::this_coro::executor);
    auto client_port = client_socket.local_endpoint().port();
    Stream server(std::move(server_socket), Role::server);
    client_socket.close();
    server.abort();
    EXPECT_EQ(server.peer(), "127.0.0.1:" + std::to_string(client_port));
    co_return;
  });
}

// Issue 6: `co_await (stream.async_read_some(buf, use_awaitable) || timer)`
// hung against a silent peer; the coroutine form and the token form both
// give way to the timer now, over a real socket.
TEST(TcpTransport, ReadsGiveWayToATimerAgainstASilentPeer) {
  using namespace asio::experimental::awaitable_operators;
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto [server_socket, silent] = connected_pair(executor);
    Stream server(std::move(server_socket), Role::server);
    asio::steady_timer timer(executor, std::chrono::milliseconds(20));
    auto line = co_await (server.read_line() || timer.async_wait(asio::use_awaitable));
    EXPECT_EQ(line.index(), 1u);
    char byte;
    timer.expires_after(std::chrono::milliseconds(20));
    auto some = co_await (server.async_read_some(asio::buffer(&byte, 1), asio::use_awaitable) ||
                          timer.async_wait(asio::use_awaitable));
    EXPECT_EQ(some.index(), 1u);
    EXPECT_FALSE(server.is_closed()) << "a cancelled read leaves the stream usable";
  });
}

// A relay whose peer stops reading must not hang: the write times out once
// the kernel's buffers are full.
TEST(TcpTransport, AWriterWhosePeerStopsReadingTimesOut) {
  run([]() -> awaitable<void> {
    auto [server_socket, not_reading] = connected_pair(co_await asio::this_coro::executor);
    Stream server(std::move(server_socket), Role::server);
    Timeouts timeouts;
    timeouts.write = std::chrono::milliseconds(100);
    server.set_timeouts(timeouts);
    std::string chunk(1024 * 1024, 'x');
    test::Caught error;
    for (int i = 0; i < 256 && !error.code; ++i) error = co_await caught(server.write_all(chunk));
    EXPECT_EQ(error.code, errc::write_timeout) << error.message;
    EXPECT_TRUE(server.is_closed());
  });
}

std::string socket_path(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("uptls-") + name + "-" + std::to_string(::getpid()) + ".sock"))
      .string();
}

// STARTTLS over a Unix domain socket: the same stream, server and client.
TEST(UnixTransport, ServerAndClientUpgradeOverAUnixSocket) {
  std::string path = socket_path("starttls");
  run([path]() -> awaitable<void> {
    ServeOptions options;
    options.tls = pki().server;
    options.upgradeable = true;
    Handler handler = [](Stream stream) -> awaitable<void> {
      auto command = co_await stream.read_line();
      if (command != "STARTTLS") co_return;
      co_await stream.write_all("GO\n");
      co_await stream.start_tls(CarryOver::refuse);
      auto line = co_await stream.read_line();
      co_await stream.write_all("echo " + line.value_or("?") + "\n");
      co_await stream.close();
    };
    Server server = co_await start_unix_server(handler, path, options);
    EXPECT_EQ(server.address(), "unix:" + path);
    ConnectOptions connect;
    connect.tls = pki().client;
    connect.upgradeable = true;
    Stream stream = co_await open_unix_connection(path, connect);
    EXPECT_EQ(stream.peer(), "unix:" + path);
    co_await stream.write_all("STARTTLS\n");
    auto go = co_await stream.read_line();
    EXPECT_EQ(go, "GO");
    co_await stream.start_tls();
    EXPECT_TRUE(stream.is_tls());
    EXPECT_EQ(stream.peer_certificate()->subject, "CN=localhost");
    co_await stream.write_all("over unix\n");
    auto echo = co_await stream.read_line();
    EXPECT_EQ(echo, "echo over unix");
    EXPECT_THROW((void)stream.remote_endpoint(), std::system_error) << "not TCP";
    co_await stream.close();
    co_await server.stop();
  });
  EXPECT_FALSE(std::filesystem::exists(path)) << "the socket file is removed at stop";
}

TEST(UnixTransport, AStaleSocketFileIsReplacedALiveOneIsNot) {
  std::string path = socket_path("stale");
  {
    // A socket file nobody listens on any more, as a crashed server leaves.
    asio::io_context io;
    asio::local::stream_protocol::acceptor stale(io, asio::local::stream_protocol::endpoint(path));
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  run([path]() -> awaitable<void> {
    Handler handler = [](Stream stream) -> awaitable<void> { co_await stream.close(); };
    Server server = co_await start_unix_server(handler, path);
    auto second = co_await caught(start_unix_server(handler, path));
    EXPECT_EQ(second.code, std::errc::address_in_use) << second.message;
    co_await server.stop();
  });
}

TEST(UnixTransport, NobodyListeningIsASystemError) {
  run([]() -> awaitable<void> {
    auto error = co_await caught(open_unix_connection(socket_path("nobody")));
    EXPECT_TRUE(error.code == std::errc::no_such_file_or_directory ||
                error.code == std::errc::connection_refused)
        << error.message;
    EXPECT_NE(error.message.find("unix:"), std::string::npos) << error.message;
  });
}

}  // namespace
}  // namespace uptls
