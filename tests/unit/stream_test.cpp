#include "uptls/stream.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include "support/certs.hpp"
#include "support/support.hpp"
#include "uptls/error.hpp"

namespace uptls {
namespace {

using asio::awaitable;
using test::caught;
using test::connected_pair;
using test::pki;
using test::raw_read_to_end;
using test::raw_write;
using test::run;

/// A server-role stream and the raw client socket connected to it.
struct Plain {
  explicit Plain(const asio::any_io_executor& executor) {
    auto [server_socket, client_socket] = connected_pair(executor);
    server.emplace(std::move(server_socket), pki().server);
    client = std::move(client_socket);
  }
  std::optional<Stream> server;
  std::optional<asio::ip::tcp::socket> client;
};

/// Two streams, server and client roles, both upgradeable.
struct Pair {
  explicit Pair(const asio::any_io_executor& executor) {
    auto [server_socket, client_socket] = connected_pair(executor);
    server.emplace(std::move(server_socket), pki().server);
    client.emplace(std::move(client_socket), pki().client, "localhost");
  }
  /// Upgrades both ends at once, as STARTTLS does.
  awaitable<void> upgrade() {
    auto executor = co_await asio::this_coro::executor;
    std::optional<Caught> server_result;
    asio::co_spawn(executor, caught(server->start_tls()),
                   [&](std::exception_ptr, test::Caught c) { server_result = c; });
    co_await client->start_tls();
    asio::steady_timer wait(executor);
    while (!server_result) {
      wait.expires_after(std::chrono::milliseconds(1));
      co_await wait.async_wait(asio::use_awaitable);
    }
    if (server_result->code) throw std::runtime_error("server upgrade: " + server_result->message);
  }
  using Caught = test::Caught;
  std::optional<Stream> server;
  std::optional<Stream> client;
};

TEST(Stream, ReadLineAcceptsLfAndCrlf) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    co_await raw_write(*p.client, "one\ntwo\r\n\r\nthree\n");
    auto one = co_await p.server->read_line();
    auto two = co_await p.server->read_line();
    auto empty = co_await p.server->read_line();
    auto three = co_await p.server->read_line();
    EXPECT_EQ(one, "one");
    EXPECT_EQ(two, "two");
    EXPECT_EQ(empty, "");
    EXPECT_EQ(three, "three");
    p.client->close();
    auto end = co_await p.server->read_line();
    EXPECT_FALSE(end.has_value()) << "a clean end of stream before a new line is nullopt";
  });
}

TEST(Stream, LineTooLongIsAClearErrorAndLosesNothing) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    std::string long_line(100, 'a');
    co_await raw_write(*p.client, long_line);
    auto error = co_await caught(p.server->read_line(10));
    EXPECT_EQ(error.code, errc::line_too_long);
    EXPECT_NE(error.message.find("longer than 10 bytes"), std::string::npos) << error.message;
    EXPECT_EQ(p.server->buffered(), long_line.size());
    co_await raw_write(*p.client, "\n");
    auto line = co_await p.server->read_line(1000);
    EXPECT_EQ(line, long_line) << "the bytes stay buffered after the error";
  });
}

TEST(Stream, LineOfExactlyTheLimitWithCrlfIsAccepted) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    co_await raw_write(*p.client, std::string(10, 'b') + "\r\n");
    auto line = co_await p.server->read_line(10);
    EXPECT_EQ(line, std::string(10, 'b'));
  });
}

TEST(Stream, EndOfStreamInTheMiddleOfALineIsAnError) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    co_await raw_write(*p.client, "partial");
    p.client->close();
    auto error = co_await caught(p.server->read_line());
    EXPECT_EQ(error.code, errc::unexpected_eof);
  });
}

TEST(Stream, ReadUntilAndReadExactly) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    co_await raw_write(*p.client, "header\r\n\r\nbody:0123456789tail");
    auto head = co_await p.server->read_until("\r\n\r\n");
    EXPECT_EQ(head, "header\r\n\r\n");
    auto body = co_await p.server->read_exactly(15);
    EXPECT_EQ(body, "body:0123456789");
    co_await raw_write(*p.client, "-without-the-delimiter");
    auto no_delimiter = co_await caught(p.server->read_until("END", 8));
    EXPECT_EQ(no_delimiter.code, errc::line_too_long);
    auto rest = co_await p.server->read_exactly(p.server->buffered());
    EXPECT_EQ(rest, "tail-without-the-delimiter") << "nothing was lost to the failed read";
    co_await raw_write(*p.client, "short");
    p.client->close();
    auto short_read = co_await caught(p.server->read_exactly(10));
    EXPECT_EQ(short_read.code, errc::unexpected_eof);
  });
}

TEST(Stream, PeerCertificateNoneBeforeUpgradePresentAfter) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    EXPECT_FALSE(p.client->peer_certificate());
    EXPECT_FALSE(p.client->tls_info());
    EXPECT_FALSE(p.client->is_tls());
    co_await p.upgrade();
    auto cert = p.client->peer_certificate();
    EXPECT_TRUE(cert.has_value());
    if (!cert) co_return;
    EXPECT_EQ(cert->subject, "CN=localhost");
    EXPECT_EQ(cert->issuer, "CN=uptls test CA");
    EXPECT_EQ(cert->dns_names, std::vector<std::string>{"localhost"});
    EXPECT_EQ(cert->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1"}));
    EXPECT_EQ(cert->sha256_fingerprint.size(), 32u * 3 - 1);
    auto info = p.client->tls_info();
    EXPECT_EQ(info->version, "TLSv1.3");
    EXPECT_FALSE(info->cipher.empty());
    EXPECT_GE(info->secret_bits, 128);
    auto server_info = p.server->tls_info();
    EXPECT_EQ(server_info->server_name, "localhost") << "the client sent SNI";
    EXPECT_FALSE(p.server->peer_certificate()) << "the client presented none";

    co_await p.client->write_all("over TLS\n");
    auto line = co_await p.server->read_line();
    EXPECT_EQ(line, "over TLS");
  });
}

TEST(Stream, StartTlsTwiceIsAnError) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await p.upgrade();
    auto again = co_await caught(p.client->start_tls());
    EXPECT_EQ(again.code, errc::already_tls);
  });
}

TEST(Stream, StartTlsWithoutConfigurationIsAnError) {
  run([]() -> awaitable<void> {
    auto [server_socket, client_socket] = connected_pair(co_await asio::this_coro::executor);
    Stream server(std::move(server_socket), Role::server);
    Stream client(std::move(client_socket), Role::client);
    EXPECT_FALSE(server.upgradeable());
    auto server_error = co_await caught(server.start_tls());
    auto client_error = co_await caught(client.start_tls());
    EXPECT_EQ(server_error.code, errc::no_tls_config);
    EXPECT_EQ(client_error.code, errc::no_tls_config);
  });
}

// The seed client sends STARTTLS and its ClientHello back to back; both can
// arrive in one segment. The ClientHello must go to the handshake, never to
// the application.
TEST(Stream, StartTlsAndClientHelloInOneWrite) {
  run([]() -> awaitable<void> {
    auto [server_socket, client_socket] = connected_pair(co_await asio::this_coro::executor);
    Stream server(std::move(server_socket), pki().server);
    Stream client(std::move(client_socket), pki().client, "localhost");
    // Hold the client's first flight until STARTTLS is written with it: the
    // client writes "STARTTLS\n" and starts its handshake before the server
    // reads anything, so both sit in the server's socket buffer together.
    co_await client.write_all("STARTTLS\n");
    auto executor = co_await asio::this_coro::executor;
    std::optional<test::Caught> client_result;
    asio::co_spawn(executor, caught(client.start_tls()),
                   [&](std::exception_ptr, test::Caught c) { client_result = c; });
    asio::steady_timer pause(executor, std::chrono::milliseconds(50));
    co_await pause.async_wait(asio::use_awaitable);

    auto line = co_await server.read_line();
    EXPECT_EQ(line, "STARTTLS");
    EXPECT_GT(server.buffered(), 0u) << "the ClientHello arrived with the STARTTLS line";
    co_await server.start_tls();
    EXPECT_EQ(server.buffered(), 0u);
    while (!client_result) {
      pause.expires_after(std::chrono::milliseconds(1));
      co_await pause.async_wait(asio::use_awaitable);
    }
    EXPECT_FALSE(client_result->code) << client_result->message;
    co_await client.write_all("PING\n");
    auto ping = co_await server.read_line();
    EXPECT_EQ(ping, "PING");
  });
}

// DESIGN.md, the upgrade invariant on the client side: the server speaks
// second in TLS, so a byte buffered before the ClientHello is injected.
TEST(Stream, ClientRefusesCarriedOverBytes) {
  run([]() -> awaitable<void> {
    auto [server_socket, client_socket] = connected_pair(co_await asio::this_coro::executor);
    Stream client(std::move(client_socket), pki().client, "localhost");
    co_await raw_write(server_socket, "220 ready\r\n250 INJECTED\r\n");
    auto greeting = co_await client.read_line();
    EXPECT_EQ(greeting, "220 ready");
    auto error = co_await caught(client.start_tls());
    EXPECT_EQ(error.code, errc::injected_plaintext);
    EXPECT_NE(error.message.find("14 plaintext byte(s)"), std::string::npos) << error.message;
    EXPECT_TRUE(client.is_closed()) << "the connection is closed, not left half-upgraded";
    EXPECT_FALSE(client.is_tls());
    auto reuse = co_await caught(client.read_line());
    EXPECT_EQ(reuse.code, errc::stream_closed);
  });
}

TEST(Stream, ClientCannotFeedCarriedOverBytesToTheHandshake) {
  run([]() -> awaitable<void> {
    auto [server_socket, client_socket] = connected_pair(co_await asio::this_coro::executor);
    Stream client(std::move(client_socket), pki().client, "localhost");
    auto error = co_await caught(client.start_tls(CarryOver::feed_handshake));
    EXPECT_EQ(error.code, errc::invalid_argument);
  });
}

// SMTP, IMAP and the like answer STARTTLS before the handshake: anything
// buffered after the command was injected (CVE-2011-0411).
TEST(Stream, StrictServerRefusesCarriedOverBytes) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    co_await raw_write(*p.client, "STARTTLS\r\nRSET\r\n");
    auto command = co_await p.server->read_line();
    EXPECT_EQ(command, "STARTTLS");
    auto error = co_await caught(p.server->start_tls(CarryOver::refuse));
    EXPECT_EQ(error.code, errc::injected_plaintext);
    EXPECT_TRUE(p.server->is_closed());
    auto rest = co_await raw_read_to_end(*p.client);
    EXPECT_EQ(rest, "") << "nothing was answered to the injected command";
  });
}

TEST(Stream, CloseNotifyIsACleanEndOfStream) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await p.upgrade();
    auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(executor, p.client->close(), asio::detached);
    auto end = co_await p.server->read_line();
    EXPECT_FALSE(end.has_value());
  });
}

TEST(Stream, TcpCloseWithoutCloseNotifyIsTruncation) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await p.upgrade();
    // A round trip first, so the client has read the server's session
    // tickets: closing with unread data would send a reset, not a FIN.
    co_await p.client->write_all("ping\n");
    auto ping = co_await p.server->read_line();
    co_await p.server->write_all("pong\n");
    auto pong = co_await p.client->read_line();
    EXPECT_EQ(pong, "pong");
    p.client->abort();
    auto error = co_await caught(p.server->read_line());
    EXPECT_EQ(error.code, errc::tls_truncated);
    EXPECT_NE(error.message.find("without a TLS close_notify"), std::string::npos);
  });
}

TEST(Stream, ResetIsToldApartFromClose) {
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

TEST(Stream, HandshakeTimeoutOnASilentPeer) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    Timeouts timeouts;
    timeouts.handshake = std::chrono::milliseconds(100);
    p.server->set_timeouts(timeouts);
    auto error = co_await caught(p.server->start_tls());
    EXPECT_EQ(error.code, errc::handshake_timeout);
    EXPECT_NE(error.message.find("did not finish within 100 ms"), std::string::npos)
        << error.message;
    EXPECT_TRUE(p.server->is_closed());
  });
}

TEST(Stream, ReadTimeout) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    Timeouts timeouts;
    timeouts.read = std::chrono::milliseconds(50);
    p.server->set_timeouts(timeouts);
    auto error = co_await caught(p.server->read_line());
    EXPECT_EQ(error.code, errc::read_timeout);
    co_await raw_write(*p.client, "late\n");
    auto line = co_await p.server->read_line();
    EXPECT_EQ(line, "late") << "a read timeout leaves the stream usable";
  });
}

TEST(Stream, GarbageInsteadOfClientHelloIsAClearError) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    co_await raw_write(*p.client, "GET / HTTP/1.0\r\n\r\n");
    auto error = co_await caught(p.server->start_tls());
    EXPECT_EQ(error.code.category(), tls_category());
    EXPECT_NE(error.message.find("not a TLS ClientHello"), std::string::npos) << error.message;
    EXPECT_TRUE(p.server->is_closed());
  });
}

TEST(Stream, AbortFailsPendingRead) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer later(executor, std::chrono::milliseconds(20));
    later.async_wait([&](asio::error_code) { p.server->abort(); });
    auto error = co_await caught(p.server->read_line());
    EXPECT_EQ(error.code, errc::stream_closed);
  });
}

TEST(Stream, LargeTransferOverTls) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await p.upgrade();
    std::string data(3 * 1024 * 1024 + 7, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + i / 977);
    auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(executor, p.client->write_all(asio::buffer(data)), asio::detached);
    auto received = co_await p.server->read_exactly(data.size());
    EXPECT_TRUE(received == data) << "every byte arrives, in order";
  });
}

TEST(Stream, ComposesWithAsioAlgorithms) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await p.upgrade();
    std::string message = "composed with asio::async_write\n";
    co_await asio::async_write(*p.client, asio::buffer(message), asio::use_awaitable);
    asio::streambuf buffer;
    std::size_t n = co_await asio::async_read_until(*p.server, buffer, '\n', asio::use_awaitable);
    EXPECT_EQ(std::string(static_cast<const char*>(buffer.data().data()), n), message);

    co_await p.client->close();
    char byte;
    auto [ec, got] = co_await p.server->async_read_some(
        asio::buffer(&byte, 1), asio::experimental::as_tuple(asio::use_awaitable));
    EXPECT_EQ(ec, asio::error::eof) << "the clean end is eof for Asio's algorithms";
    EXPECT_EQ(got, 0u);
  });
}

TEST(Stream, AsTupleFormReturnsTheErrorInsteadOfThrowing) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    p.server->abort();
    char byte;
    auto [ec, got] = co_await p.server->async_read_some(
        asio::buffer(&byte, 1), asio::experimental::as_tuple(asio::use_awaitable));
    EXPECT_EQ(ec, errc::stream_closed);
    EXPECT_EQ(got, 0u);
  });
}

/// A TLS client written with OpenSSL alone, on a blocking socket: it sends
/// "hi", its close_notify, then plaintext on the same connection.
void close_notify_then_plaintext(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  X509* ca = test::first_cert(pki().authority.ca_pem());
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
  X509_free(ca);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (SSL_connect(ssl) == 1) {
    SSL_write(ssl, "hi\n", 3);
    SSL_shutdown(ssl);
    ::send(fd, "PLAINTEXT\n", 10, MSG_NOSIGNAL);
    char sink[256];
    while (::recv(fd, sink, sizeof sink, 0) > 0) {
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
}

// DESIGN.md: once TLS is up it never falls back to plaintext; after the
// peer's close_notify, further bytes are an error.
TEST(Stream, BytesAfterCloseNotifyAreAnErrorNeverData) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
    std::thread client(close_notify_then_plaintext, acceptor.local_endpoint().port());
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    Stream server(std::move(socket), pki().server);
    co_await server.start_tls();
    // Let the close_notify and the plaintext arrive before reading on.
    asio::steady_timer pause(executor, std::chrono::milliseconds(100));
    co_await pause.async_wait(asio::use_awaitable);
    auto hi = co_await server.read_line();
    EXPECT_EQ(hi, "hi");
    auto after = co_await caught(server.read_line());
    EXPECT_EQ(after.code, errc::data_after_close_notify) << after.message;
    server.abort();
    client.join();
  });
}

}  // namespace
}  // namespace uptls
