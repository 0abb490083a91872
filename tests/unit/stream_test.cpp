#include "uptls/stream.hpp"

#include <gtest/gtest.h>

#include <limits>

#include <malloc.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "uptls/error.hpp"

// These tests run over the in-memory transport: deterministic, no sockets,
// no sleeps. tests/unit/transport_test.cpp covers TCP and Unix sockets.

namespace uptls {
namespace {

using asio::awaitable;
using namespace asio::experimental::awaitable_operators;
using test::caught;
using test::memory_pair;
using test::MemoryPair;
using test::pki;
using test::raw_read_exactly;
using test::raw_read_to_end;
using test::raw_write;
using test::run;

constexpr int to_server = MemoryPair::to_server;

/// A server-role stream and the raw client transport connected to it.
struct Plain {
  explicit Plain(const asio::any_io_executor& executor, test::Faults faults = {}) {
    auto pair = memory_pair(executor, faults);
    link = pair.link;
    server.emplace(std::move(pair.server), pki().server);
    client = std::move(pair.client);
  }
  std::shared_ptr<test::MemoryLink> link;
  std::optional<Stream> server;
  std::unique_ptr<Transport> client;
};

/// Two streams, server and client roles, both upgradeable.
struct Pair {
  explicit Pair(const asio::any_io_executor& executor, test::Faults faults = {}) {
    auto pair = memory_pair(executor, faults);
    link = pair.link;
    server.emplace(std::move(pair.server), pki().server);
    client.emplace(std::move(pair.client), pki().client, "localhost");
  }
  /// Upgrades both ends at once, as STARTTLS does.
  awaitable<void> upgrade() {
    auto [s, c] = co_await (caught(server->start_tls()) && caught(client->start_tls()));
    if (s.code) throw std::system_error(s.code, "server: " + s.message);
    if (c.code) throw std::system_error(c.code, "client: " + c.message);
  }
  std::shared_ptr<test::MemoryLink> link;
  std::optional<Stream> server;
  std::optional<Stream> client;
};

/// Lets every coroutine that is ready run before this one goes on.
awaitable<void> let_others_run() {
  auto executor = co_await asio::this_coro::executor;
  for (int i = 0; i < 3; ++i) co_await asio::post(executor, asio::use_awaitable);
}

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
    auto server_again = co_await caught(p.server->start_tls());
    EXPECT_EQ(server_again.code, errc::already_tls);
    // A wrong call changes nothing: the TLS session goes on, both ways.
    EXPECT_TRUE(p.client->is_tls() && !p.client->is_closed());
    co_await p.client->write_all("still TLS\n");
    EXPECT_EQ(co_await p.server->read_line(), "still TLS");
    co_await p.server->write_all("answer\n");
    EXPECT_EQ(co_await p.client->read_line(), "answer");
  });
}

// resume_session_of needs a TLS stream of the same role; a wrong call
// changes nothing: the stream still upgrades.
TEST(Stream, ResumingTheSessionOfAStreamThatHasNoneIsAnError) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    Pair other(co_await asio::this_coro::executor);
    for (const Stream* wrong : {&*other.client, &*other.server}) {
      try {
        p.client->resume_session_of(*wrong);
        ADD_FAILURE() << "a plaintext stream has no session to resume";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), errc::invalid_argument);
      }
    }
    co_await other.upgrade();
    try {
      p.client->resume_session_of(*other.server);
      ADD_FAILURE() << "a server's session is not a client's";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), errc::invalid_argument);
    }
    co_await p.upgrade();
    EXPECT_TRUE(p.client->is_tls());
  });
}

TEST(Stream, StartTlsWithoutConfigurationIsAnError) {
  run([]() -> awaitable<void> {
    auto pair = memory_pair(co_await asio::this_coro::executor);
    Stream server(std::move(pair.server), Role::server);
    Stream client(std::move(pair.client), Role::client);
    EXPECT_FALSE(server.upgradeable());
    auto server_error = co_await caught(server.start_tls());
    auto client_error = co_await caught(client.start_tls());
    EXPECT_EQ(server_error.code, errc::no_tls_config) << server_error.message;
    EXPECT_EQ(client_error.code, errc::no_tls_config) << client_error.message;
    // Both stay plaintext streams that work.
    EXPECT_FALSE(server.is_closed() || client.is_closed() || server.is_tls() || client.is_tls());
    co_await client.write_all("plaintext\n");
    EXPECT_EQ(co_await server.read_line(), "plaintext");
  });
}

// A server that forgot `upgradeable` waits for a ClientHello while its
// client waits for a greeting; the client gives up and closes. The message
// says so, and what to set, as the client side's does.
TEST(Stream, AServerWhoseClientSentNothingSaysWhatToSet) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    p.client->close();
    auto error = co_await caught(p.server->start_tls());
    EXPECT_EQ(error.code, errc::unexpected_eof) << error.message;
    EXPECT_NE(error.message.find("the client closed the connection without sending anything"),
              std::string::npos)
        << error.message;
    EXPECT_NE(error.message.find("ServeOptions::upgradeable"), std::string::npos) << error.message;
  });
}

// One rule: a start_tls call that is wrong fails before anything changes and
// leaves the stream as it was, usable; an upgrade that fails once begun
// closes it (StrictServerRefusesCarriedOverBytes, HandshakeTimeout...).
TEST(Stream, AWrongStartTlsCallChangesNothing) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    {
      auto pair = memory_pair(executor);
      Stream server(std::move(pair.server), Role::server);
      auto error = co_await caught(server.start_tls());
      EXPECT_EQ(error.code, errc::no_tls_config);
      EXPECT_FALSE(server.is_closed());
      co_await raw_write(*pair.client, "still plaintext\n");
      EXPECT_EQ(co_await server.read_line(), "still plaintext");
      auto wrong_role = co_await caught(server.start_tls(pki().client, "localhost"));
      EXPECT_EQ(wrong_role.code, errc::invalid_argument) << wrong_role.message;
      EXPECT_FALSE(server.is_closed());
      EXPECT_FALSE(server.upgradeable()) << "a refused configuration is not stored";
    }
    {
      auto pair = memory_pair(executor);
      Stream client(std::move(pair.client), Role::client);
      auto fed =
          co_await caught(client.start_tls(pki().client, "localhost", CarryOver::feed_handshake));
      EXPECT_EQ(fed.code, errc::invalid_argument) << fed.message;
      EXPECT_FALSE(client.is_closed());
      EXPECT_FALSE(client.upgradeable());
      EXPECT_EQ(client.server_name(), "");
    }
    {
      Pair p(executor);
      co_await p.upgrade();
      auto again = co_await caught(p.client->start_tls());
      EXPECT_EQ(again.code, errc::already_tls);
      EXPECT_FALSE(p.client->is_closed());
      co_await p.client->write_all("over TLS\n");
      EXPECT_EQ(co_await p.server->read_line(), "over TLS");
    }
  });
}

// A configuration and a name given to start_tls are stored when it runs,
// never at the call: not when it is never awaited, nor when it is refused
// because another operation is running.
TEST(Stream, StartTlsStoresItsConfigurationOnlyWhenItRuns) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto pair = memory_pair(executor);
    Stream client(std::move(pair.client), pki().client, "localhost");
    auto other = tls::ClientConfig::make(tls::ClientOptions());
    { auto never_awaited = client.start_tls(other, "elsewhere.example"); }
    EXPECT_EQ(client.server_name(), "localhost");
    EXPECT_EQ(client.client_config(), pki().client);
    std::optional<std::string> pending;
    asio::co_spawn(executor, client.read_line(),
                   [&](std::exception_ptr, std::optional<std::string> line) { pending = line; });
    co_await let_others_run();
    auto busy = co_await caught(client.start_tls(other, "elsewhere.example"));
    EXPECT_EQ(busy.code, errc::operation_in_progress) << busy.message;
    EXPECT_EQ(client.server_name(), "localhost");
    EXPECT_EQ(client.client_config(), pki().client);
    EXPECT_FALSE(client.is_closed());
    co_await raw_write(*pair.server, "reply\n");
    co_await let_others_run();
    EXPECT_EQ(pending, "reply");
  });
}

// The seed client sends STARTTLS and its ClientHello back to back; both can
// arrive in one segment. The ClientHello must go to the handshake, never to
// the application.
TEST(Stream, StartTlsAndClientHelloInOneWrite) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    // The client writes STARTTLS and its first flight before the server
    // reads anything: both wait in the server's pipe together.
    co_await p.client->write_all("STARTTLS\n");
    auto executor = co_await asio::this_coro::executor;
    std::optional<test::Caught> client_result;
    asio::co_spawn(executor, caught(p.client->start_tls()),
                   [&](std::exception_ptr, test::Caught c) { client_result = c; });
    co_await let_others_run();
    EXPECT_GT(p.link->pending(to_server), std::size_t{9}) << "the ClientHello is on its way";

    auto line = co_await p.server->read_line();
    EXPECT_EQ(line, "STARTTLS");
    EXPECT_GT(p.server->buffered(), 0u) << "the ClientHello arrived with the STARTTLS line";
    co_await p.server->start_tls();
    EXPECT_EQ(p.server->buffered(), 0u);
    co_await let_others_run();
    EXPECT_TRUE(client_result.has_value());
    if (!client_result) co_return;
    EXPECT_FALSE(client_result->code) << client_result->message;
    co_await p.client->write_all("PING\n");
    auto ping = co_await p.server->read_line();
    EXPECT_EQ(ping, "PING");
  });
}

// DESIGN.md, the upgrade invariant on the client side: the server speaks
// second in TLS, so a byte buffered before the ClientHello is injected.
TEST(Stream, ClientRefusesCarriedOverBytes) {
  run([]() -> awaitable<void> {
    auto pair = memory_pair(co_await asio::this_coro::executor);
    Stream client(std::move(pair.client), pki().client, "localhost");
    co_await raw_write(*pair.server, "220 ready\r\n250 INJECTED\r\n");
    auto greeting = co_await client.read_line();
    EXPECT_EQ(greeting, "220 ready");
    auto error = co_await caught(client.start_tls());
    EXPECT_EQ(error.code, errc::injected_plaintext);
    EXPECT_NE(error.message.find("14 plaintext byte(s)"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("\"250 INJECTED\\r\\n\""), std::string::npos)
        << "the message shows what came, escaped: " << error.message;
    EXPECT_TRUE(client.is_closed()) << "the connection is closed, not left half-upgraded";
    EXPECT_FALSE(client.is_tls());
    auto reuse = co_await caught(client.read_line());
    EXPECT_EQ(reuse.code, errc::stream_closed);
  });
}

TEST(Stream, ClientCannotFeedCarriedOverBytesToTheHandshake) {
  run([]() -> awaitable<void> {
    auto pair = memory_pair(co_await asio::this_coro::executor);
    Stream client(std::move(pair.client), pki().client, "localhost");
    auto error = co_await caught(client.start_tls(CarryOver::feed_handshake));
    EXPECT_EQ(error.code, errc::invalid_argument);
    // Refused before anything changed: the stream still upgrades.
    EXPECT_FALSE(client.is_closed());
    Stream server(std::move(pair.server), pki().server);
    auto [s, c] = co_await (caught(server.start_tls()) && caught(client.start_tls()));
    EXPECT_FALSE(s.code || c.code) << s.message << c.message;
    EXPECT_TRUE(client.is_tls());
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

TEST(Stream, CloseWithoutCloseNotifyIsTruncation) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await p.upgrade();
    // A round trip first, so the client has read the server's session
    // tickets: closing with unread data would be a reset, not an end.
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
    Plain p(co_await asio::this_coro::executor);
    p.link->reset();
    auto error = co_await caught(p.server->read_line());
    EXPECT_EQ(error.code, std::errc::connection_reset) << error.message;
  });
}

TEST(Stream, ResetInTlsIsNotTruncation) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await p.upgrade();
    co_await p.client->write_all("before the reset\n");
    auto line = co_await p.server->read_line();
    EXPECT_EQ(line, "before the reset");
    p.link->reset();
    auto error = co_await caught(p.server->read_line());
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
    std::optional<test::Caught> result;
    asio::co_spawn(executor, caught(p.server->read_line()),
                   [&](std::exception_ptr, test::Caught c) { result = c; });
    co_await let_others_run();
    EXPECT_FALSE(result) << "the read waits for data";
    p.server->abort();
    co_await let_others_run();
    EXPECT_TRUE(result.has_value());
    if (result) {
      EXPECT_EQ(result->code, errc::stream_closed);
    }
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

    auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(executor, p.client->close(), asio::detached);
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

// DESIGN.md: once TLS is up it never falls back to plaintext; after the
// peer's close_notify, further bytes are an error.
TEST(Stream, BytesAfterCloseNotifyAreAnErrorNeverData) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await p.upgrade();
    co_await p.client->write_all("hi\n");
    auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(executor, p.client->close(), asio::detached);
    co_await let_others_run();  // the client's close_notify is on its way
    p.link->inject(to_server, "PLAINTEXT\n");
    auto hi = co_await p.server->read_line();
    EXPECT_EQ(hi, "hi");
    auto after = co_await caught(p.server->read_line());
    EXPECT_EQ(after.code, errc::data_after_close_notify) << after.message;
  });
}

/// A line read in a whole session: its end is "lost" (thrown as an
/// end_of_session), another line is "wrong" (a runtime_error).
struct EndOfSession : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void expect_line(const std::optional<std::string>& line, const std::string& expected) {
  if (!line) throw EndOfSession(expected + " lost: the peer's end came first");
  if (*line != expected) throw std::runtime_error(expected + " wrong: got '" + *line + "'");
}

/// How far a whole session had gone, in the link's operations.
struct Progress {
  /// When the client had sent the last bytes it sends before its close.
  std::size_t client_sent = std::numeric_limits<std::size_t>::max();
  /// When the close began.
  std::size_t before_close = std::numeric_limits<std::size_t>::max();
};

/// One whole session: plaintext lines, STARTTLS, lines both ways over TLS,
/// close. Throws what either side threw.
awaitable<void> whole_session(Pair& p, Progress& progress) {
  co_await p.client->write_all("PING\nSTARTTLS\n");
  expect_line(co_await p.server->read_line(), "PING");
  expect_line(co_await p.server->read_line(), "STARTTLS");
  co_await p.upgrade();
  co_await p.client->write_all("over TLS\n");
  progress.client_sent = p.link->operations;
  expect_line(co_await p.server->read_line(), "over TLS");
  co_await p.server->write_all("answer\n");
  expect_line(co_await p.client->read_line(), "answer");
  progress.before_close = p.link->operations;
  co_await (p.client->close() && p.server->close());
}

// Beast's fail_count: fail the first read or write, then the second, and so
// on, until a session completes with no fault. Every fault must end as a
// clear error on a closed stream (never a hang, a crash or a wrong byte).
TEST(Stream, AFaultAtEveryStepOfTheUpgradeIsAClearError) {
  std::size_t faults = 0;
  for (std::size_t n = 1;; ++n) {
    ASSERT_LT(n, 500u) << "a session takes far fewer operations";
    test::Faults f;
    f.fail_at = n;
    bool fired = false;
    run([&]() -> awaitable<void> {
      Pair p(co_await asio::this_coro::executor, f);
      Progress progress;
      auto result = co_await caught(whole_session(p, progress));
      fired = p.link->operations >= n;
      if (!fired || n > progress.before_close) {
        // close() owes nothing to a peer that failed: it never throws.
        EXPECT_FALSE(result.code) << "no error from a whole session: " << result.message;
        EXPECT_TRUE(p.client->is_closed() && p.server->is_closed());
        co_return;
      }
      EXPECT_TRUE(result.code) << "fault at operation " << n << " went unnoticed";
      EXPECT_FALSE(result.message.empty());
      EXPECT_EQ(result.message.find("lost"), std::string::npos) << result.message;
    });
    if (!fired) break;
    ++faults;
  }
  EXPECT_GT(faults, 10u) << "the sweep covered the plaintext phase, the handshake and TLS";
}

// The client half-closes at every step. Before it has sent all it sends,
// the session ends early with an error or an end that the reader sees;
// after that, it completes. Never a hang, a crash or a wrong byte.
TEST(Stream, AHalfCloseAtEveryStepEndsTheSessionCleanly) {
  std::size_t ended = 0;
  for (std::size_t n = 1;; ++n) {
    ASSERT_LT(n, 500u) << "a session takes far fewer operations";
    test::Faults f;
    f.half_close_at = n;
    bool fired = false;
    run([&]() -> awaitable<void> {
      Pair p(co_await asio::this_coro::executor, f);
      Progress progress;
      std::string outcome;
      try {
        co_await whole_session(p, progress);
      } catch (const EndOfSession& e) {
        outcome = e.what();
      } catch (const std::system_error& e) {
        outcome = e.what();
      }
      fired = p.link->operations >= n;
      if (!fired) co_return;
      // A wrong line is a runtime_error: it leaves run() and fails the test.
      if (n <= progress.client_sent) {
        EXPECT_FALSE(outcome.empty())
            << "a half-close at operation " << n << ", before the client sent all, went unnoticed";
      } else {
        EXPECT_EQ(outcome, "") << "a half-close at operation " << n
                               << ", after the client sent all, broke the session";
        EXPECT_TRUE(p.client->is_closed() && p.server->is_closed()) << "at operation " << n;
      }
      if (!outcome.empty()) ++ended;
    });
    if (!fired) break;
  }
  EXPECT_GT(ended, 10u) << "the sweep covered the plaintext phase, the handshake and TLS";
}

// A half-close, in plaintext and in TLS: the peer reads an end (close_notify
// in TLS), and can still answer; writing after it is a clear error.
TEST(Stream, ShutdownSendIsAHalfCloseInPlaintextAndInTls) {
  run([]() -> awaitable<void> {
    for (bool tls : {false, true}) {
      Pair p(co_await asio::this_coro::executor);
      if (tls) co_await p.upgrade();
      co_await p.client->write_all("last\n");
      co_await p.client->shutdown_send();
      auto last = co_await p.server->read_line();
      EXPECT_EQ(last, "last");
      auto end = co_await p.server->read_line();
      EXPECT_FALSE(end.has_value()) << "a clean end, tls=" << tls;
      co_await p.server->write_all("answer\n");
      auto answer = co_await p.client->read_line();
      EXPECT_EQ(answer, "answer") << "the other direction stays open, tls=" << tls;
      auto more = co_await caught(p.client->write_all("more\n"));
      EXPECT_EQ(more.code, errc::stream_closed) << more.message;
      co_await p.server->close();
      auto closed = co_await p.client->read_line();
      EXPECT_FALSE(closed.has_value());
      co_await p.client->close();
    }
  });
}

TEST(Stream, OneByteWritesAndReadsCarryAWholeSession) {
  run([]() -> awaitable<void> {
    test::Faults f;
    f.max_write = 1;
    f.max_read = 1;
    Pair p(co_await asio::this_coro::executor, f);
    Progress progress;
    co_await whole_session(p, progress);
    EXPECT_GT(progress.before_close, 1000u) << "every record went a byte at a time";
    EXPECT_TRUE(p.server->is_closed());
  });
}

// A transport that takes a few bytes at a time (a small socket buffer, a
// stream below that still sends the last write): the handshake's flights
// wait for room, never fail. The server's start_tls ends once its session
// tickets went, which is when the client reads after its own.
TEST(Stream, AHandshakeWaitsForRoomInATransportThatTakesLittle) {
  for (std::size_t capacity : {16u, 300u, 600u}) {
    run([capacity]() -> awaitable<void> {
      test::Faults f;
      f.capacity = capacity;
      Pair p(co_await asio::this_coro::executor, f);
      auto server_side = [&]() -> awaitable<void> {
        co_await p.server->start_tls();
        co_await p.server->write_all("220 ready\r\n");
      };
      auto client_side = [&]() -> awaitable<std::string> {
        co_await p.client->start_tls();
        auto line = co_await p.client->read_line();
        co_return line.value_or("(end)");
      };
      std::string line = co_await (server_side() && client_side());
      EXPECT_EQ(line, "220 ready") << "capacity " << capacity;
    });
  }
}

TEST(Stream, AStalledReaderTimesOutTheWriterAndTheStreamIsAborted) {
  run([]() -> awaitable<void> {
    test::Faults f;
    f.capacity = 64 * 1024;
    Pair p(co_await asio::this_coro::executor, f);
    co_await p.upgrade();
    Timeouts timeouts;
    timeouts.write = std::chrono::milliseconds(50);
    p.client->set_timeouts(timeouts);
    std::string big(1024 * 1024, 'x');
    auto error = co_await caught(p.client->write_all(big));
    EXPECT_EQ(error.code, errc::write_timeout);
    EXPECT_NE(error.message.find("took no data for 50 ms"), std::string::npos) << error.message;
    EXPECT_TRUE(p.client->is_closed()) << "a torn write leaves no usable stream";
  });
}

// Each direction's deadline is its own: a write that times out while a read
// waits (a relay, a server reading its client's next command) is ended, and
// the read goes on until the stream is aborted by the write's failure.
TEST(Stream, AWriteDeadlineIsKeptWhileAReadWaits) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    test::Faults f;
    f.capacity = 16;
    Plain p(executor, f);
    Timeouts timeouts;
    timeouts.write = std::chrono::milliseconds(50);
    p.server->set_timeouts(timeouts);
    std::optional<test::Caught> read;
    asio::co_spawn(executor, caught(p.server->read_line()),
                   [&](std::exception_ptr, test::Caught c) { read = c; });
    co_await let_others_run();
    EXPECT_FALSE(read) << "the client sent nothing: the read waits";
    auto write = co_await caught(p.server->write_all(std::string(4096, 'x')));
    EXPECT_EQ(write.code, errc::write_timeout) << write.message;
    co_await let_others_run();
    EXPECT_TRUE(read) << "the write's failure ended the read too";
    EXPECT_EQ(read.value_or(test::Caught()).code, errc::stream_closed);
  });
}

// close() sends close_notify and waits for the peer's, for Timeouts::close
// and no longer: a peer that never answers does not make it fail or hang.
TEST(Stream, CloseWaitsForThePeersCloseNotifyWithinItsOwnTimeout) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    Pair p(executor);
    co_await p.upgrade();
    Timeouts timeouts;
    timeouts.close = std::chrono::seconds(1);
    timeouts.idle = std::chrono::hours(1);
    p.client->set_timeouts(timeouts);
    std::optional<std::error_code> closed;
    asio::co_spawn(
        executor, p.client->async_close(asio::experimental::as_tuple(asio::use_awaitable)),
        [&](std::exception_ptr, std::tuple<std::error_code> ec) { closed = std::get<0>(ec); });
    auto end = co_await p.server->read_line();
    EXPECT_FALSE(end) << "the server read the client's close_notify: a clean end";
    co_await let_others_run();
    EXPECT_FALSE(closed) << "close waits for the peer's close_notify";
    // The server never answers: the close timeout ends the wait.
    asio::steady_timer poll(executor);
    for (int i = 0; i < 500 && !closed; ++i) {
      poll.expires_after(std::chrono::milliseconds(10));
      co_await poll.async_wait(asio::use_awaitable);
    }
    EXPECT_TRUE(closed) << "close gave up within its timeout";
    EXPECT_FALSE(closed.value_or(make_error_code(errc::close_timeout)))
        << "close does not fail for the peer's silence";
    EXPECT_TRUE(p.client->is_closed());
  });
}

TEST(Stream, ReadLineOrTimerCancelsTheReadAndLosesNothing) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await p.upgrade();
    co_await p.client->write_all("partial ");
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
    auto first = co_await (p.server->read_line() || timer.async_wait(asio::use_awaitable));
    EXPECT_EQ(first.index(), 1u) << "the timer won against a silent peer";
    EXPECT_FALSE(p.server->is_closed()) << "a cancelled read leaves the stream usable";
    co_await p.client->write_all("line\n");
    auto line = co_await p.server->read_line();
    EXPECT_EQ(line, "partial line") << "the bytes read before the cancel are kept";
  });
}

TEST(Stream, TokenFormsHonourCancellation) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    auto executor = co_await asio::this_coro::executor;
    char byte;
    asio::steady_timer timer(executor, std::chrono::milliseconds(20));
    auto raced = co_await (p.server->async_read_some(asio::buffer(&byte, 1), asio::use_awaitable) ||
                           timer.async_wait(asio::use_awaitable));
    EXPECT_EQ(raced.index(), 1u) << "async_read_some gave way to the timer";

    asio::cancellation_signal signal;
    std::optional<std::error_code> result;
    p.server->async_read_exactly(
        4, asio::bind_cancellation_slot(signal.slot(),
                                        [&](std::error_code ec, std::string) { result = ec; }));
    co_await raw_write(*p.client, "ab");
    co_await let_others_run();
    signal.emit(asio::cancellation_type::terminal);
    co_await let_others_run();
    EXPECT_TRUE(result.has_value());
    if (result) {
      EXPECT_EQ(*result, asio::error::operation_aborted);
    }
    co_await raw_write(*p.client, "cd");
    auto all = co_await p.server->read_exactly(4);
    EXPECT_EQ(all, "abcd") << "a cancelled read_exactly gives back what it had read";
  });
}

TEST(Stream, EveryOperationTakesACompletionToken) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    auto token = asio::experimental::as_tuple(asio::use_awaitable);
    auto [server_ec, client_ec] =
        co_await (p.server->async_start_tls(CarryOver::role_default, token) &&
                  p.client->async_start_tls(CarryOver::role_default, token));
    EXPECT_FALSE(server_ec);
    EXPECT_FALSE(std::get<0>(client_ec));
    EXPECT_TRUE(p.client->is_tls());
    std::string text = "one\nheader\r\n\r\nexact";
    auto [e2, n] = co_await p.client->async_write_all(asio::buffer(text), token);
    EXPECT_FALSE(e2);
    EXPECT_EQ(n, text.size());
    auto [e3, line] = co_await p.server->async_read_line(100, token);
    EXPECT_EQ(line, "one");
    auto [e4, header] = co_await p.server->async_read_until("\r\n\r\n", 100, token);
    EXPECT_EQ(header, "header\r\n\r\n");
    auto [e5, exact] = co_await p.server->async_read_exactly(5, token);
    EXPECT_EQ(exact, "exact");
    EXPECT_FALSE(e3 || e4 || e5);

    std::error_code ec;
    co_await p.client->write_all("a line longer than two\n");
    co_await p.server->async_read_line(2, asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(ec, errc::line_too_long) << "redirect_error gives the code";
    EXPECT_NE(p.server->error_message().find("longer than 2 bytes"), std::string::npos)
        << "and error_message() the whole message: " << p.server->error_message();

    auto [e7, rest] = co_await p.server->async_read_line(100, token);
    EXPECT_EQ(rest, "a line longer than two") << "the line too long stayed buffered";
    auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(executor, p.client->async_close(asio::use_awaitable), asio::detached);
    auto [e8, end] = co_await p.server->async_read_line(100, token);
    EXPECT_FALSE(e7);
    EXPECT_EQ(e8, asio::error::eof) << "a clean end is eof";
  });
}

TEST(Stream, OperationsOnAMovedFromStreamAreAClearError) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    Stream moved = std::move(*p.server);
    auto error = co_await caught(p.server->read_line());
    EXPECT_EQ(error.code, errc::stream_closed);
    EXPECT_TRUE(p.server->is_closed());
    EXPECT_FALSE(moved.is_closed());
    Stream empty;
    auto write = co_await caught(empty.write_all("x"));
    EXPECT_EQ(write.code, errc::stream_closed);
  });
}

// Issue 6: calling start_tls before reading an SMTP server's greeting, or
// connecting with implicit TLS to a plaintext server, says what came.
TEST(Stream, AClientMeetingPlaintextSaysWhatCameAndWhatToDo) {
  run([]() -> awaitable<void> {
    auto pair = memory_pair(co_await asio::this_coro::executor);
    Stream client(std::move(pair.client), pki().client, "localhost");
    co_await raw_write(*pair.server, "220 mail.example ESMTP ready\r\n");
    auto error = co_await caught(client.start_tls());
    EXPECT_NE(error.message.find("the server's answer is not TLS"), std::string::npos)
        << error.message;
    EXPECT_NE(error.message.find("\"220 mail.example ESMTP ready\\r\\n\""), std::string::npos)
        << error.message;
    EXPECT_NE(error.message.find("upgradeable"), std::string::npos) << error.message;
  });
}

TEST(Stream, AServerMeetingPlaintextSaysWhatCame) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    co_await raw_write(*p.client, "EHLO client.example\r\n\x1b[31m");
    auto error = co_await caught(p.server->start_tls());
    EXPECT_NE(error.message.find("\"EHLO client.example\\r\\n\\x1b[31m\""), std::string::npos)
        << "escaped, so a peer cannot drive the terminal: " << error.message;
  });
}

// Issue 7: overlapping operations fail at once with a clear error instead
// of hanging or taking each other's bytes.
TEST(Stream, ASecondReadWhileOneIsPendingFailsAtOnce) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    auto executor = co_await asio::this_coro::executor;
    std::optional<std::string> first;
    asio::co_spawn(executor, p.server->read_line(),
                   [&](std::exception_ptr, std::optional<std::string> line) { first = line; });
    co_await let_others_run();
    auto second = co_await caught(p.server->read_line());
    EXPECT_EQ(second.code, errc::operation_in_progress) << second.message;
    auto exactly = co_await caught(p.server->read_exactly(3));
    EXPECT_EQ(exactly.code, errc::operation_in_progress);
    co_await raw_write(*p.client, "for the first\n");
    co_await let_others_run();
    EXPECT_EQ(first, "for the first") << "the pending read got its line";
    co_await raw_write(*p.client, "next\n");
    auto next = co_await p.server->read_line();
    EXPECT_EQ(next, "next") << "reads work again once the first is done";
  });
}

TEST(Stream, StartTlsOrCloseWithAReadPendingFailsAtOnce) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    auto executor = co_await asio::this_coro::executor;
    std::optional<std::string> pending;
    asio::co_spawn(executor, p.server->read_line(),
                   [&](std::exception_ptr, std::optional<std::string> line) { pending = line; });
    co_await let_others_run();
    auto upgrade = co_await caught(p.server->start_tls());
    EXPECT_EQ(upgrade.code, errc::operation_in_progress) << upgrade.message;
    EXPECT_FALSE(p.server->is_tls()) << "the pending plaintext read never sees TLS data";
    auto close = co_await caught(p.server->close());
    EXPECT_EQ(close.code, errc::operation_in_progress) << close.message;
    co_await raw_write(*p.client, "plaintext\n");
    co_await let_others_run();
    EXPECT_EQ(pending, "plaintext");
  });
}

TEST(Stream, ASecondWriteWhileOneIsPendingFailsAtOnce) {
  run([]() -> awaitable<void> {
    test::Faults f;
    f.capacity = 16;
    Plain p(co_await asio::this_coro::executor, f);
    auto executor = co_await asio::this_coro::executor;
    std::string big(1000, 'x');
    bool first_done = false;
    asio::co_spawn(executor, p.server->write_all(big),
                   [&](std::exception_ptr e) { first_done = !e; });
    co_await let_others_run();
    auto second = co_await caught(p.server->write_all("y"));
    EXPECT_EQ(second.code, errc::operation_in_progress) << second.message;
    auto all = co_await raw_read_exactly(*p.client, big.size());
    EXPECT_EQ(all, big) << "the first write's bytes, none of the second's";
    co_await let_others_run();
    EXPECT_TRUE(first_done);
  });
}

// Issue 7: read_exactly(n) grows its memory with the data that arrives.
TEST(Stream, ReadExactlyDoesNotReserveWhatWasOnlyPromised) {
  run([]() -> awaitable<void> {
    Plain p(co_await asio::this_coro::executor);
    auto executor = co_await asio::this_coro::executor;
    // Heap in use, counting large blocks that malloc maps on their own.
    auto in_use = [] {
      struct mallinfo2 info = mallinfo2();
      return info.uordblks + info.hblkhd;
    };
    std::size_t before = in_use();
    std::size_t during = 0;
    std::optional<test::Caught> result;
    asio::co_spawn(executor, caught(p.server->read_exactly(256u << 20)),
                   [&](std::exception_ptr, test::Caught c) { result = c; });
    co_await raw_write(*p.client, std::string(300, 'z'));
    co_await let_others_run();
    during = in_use();
    EXPECT_LT(during - before, std::size_t{1} << 20) << "256 MiB promised, 300 bytes sent";
    p.client->close();
    co_await let_others_run();
    EXPECT_TRUE(result.has_value());
    if (result) {
      EXPECT_EQ(result->code, errc::unexpected_eof);
      EXPECT_NE(result->message.find("after 300 of 268435456 bytes"), std::string::npos)
          << result->message;
    }
  });
}

// Issue 7: bytes that are not TLS are described by where they came: after
// a valid ClientHello, or after the handshake, they are not "the client's
// first bytes".
TEST(Stream, GarbageAfterAValidClientHelloIsNamedAsSuch) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(executor, caught(p.client->start_tls()), asio::detached);
    co_await let_others_run();  // the ClientHello is on its way
    p.link->inject(to_server, "GET / HTTP/1.0\r\n\r\n");
    auto error = co_await caught(p.server->start_tls());
    EXPECT_NE(error.message.find("began the handshake, then sent bytes that are not TLS"),
              std::string::npos)
        << error.message;
    EXPECT_EQ(error.message.find("first bytes are not a TLS ClientHello"), std::string::npos)
        << error.message;
  });
}

// testssl.sh's socket client ends its probe with an alert record that says
// 3.1, after the ServerHello: a TLS record, named as one.
TEST(Stream, AnAlertWithTheWrongRecordVersionIsNamedAsATlsRecord) {
  run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    Pair p(executor);
    asio::co_spawn(executor, caught(p.client->start_tls()), asio::detached);
    co_await let_others_run();  // the ClientHello is on its way
    p.link->inject(to_server, std::string("\x15\x03\x01\x00\x02\x02\x28", 7));
    auto error = co_await caught(p.server->start_tls());
    EXPECT_NE(error.message.find("the peer sent a TLS alert record with record version 3.1 after "
                                 "the version was agreed"),
              std::string::npos)
        << error.message;
    EXPECT_EQ(error.message.find("not TLS records"), std::string::npos) << error.message;
  });
}

TEST(Stream, GarbageAfterTheHandshakeIsNamedAsSuch) {
  run([]() -> awaitable<void> {
    Pair p(co_await asio::this_coro::executor);
    co_await p.upgrade();
    p.link->inject(to_server, "PLAINTEXT INSTEAD OF A RECORD\r\n");
    auto error = co_await caught(p.server->read_line());
    EXPECT_NE(
        error.message.find("with memory:client (the peer sent bytes that are not TLS records)"),
        std::string::npos)
        << error.message;
  });
}

}  // namespace
}  // namespace uptls
