#include "starttls/ftp.hpp"

#include <gtest/gtest.h>

#include <asio/experimental/as_tuple.hpp>

#include "sessions/ftp.hpp"
#include "unit/starttls/dialogue_support.hpp"
#include "uptls/connect.hpp"
#include "uptls/ftp.hpp"
#include "uptls/server.hpp"

// FTP (RFC 4217): AUTH TLS, PBSZ, PROT, CCC, the EAST cases, both halves
// over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;

TEST(FtpClient, UpgradesAndProtectsDataConnections) {
  FtpClient client;
  Feeder feed(client);
  EXPECT_EQ(feed("120 wait a moment\r\n"), "");
  EXPECT_EQ(feed("220-Welcome\r\nfree text\r\n220 ready\r\n"), "AUTH TLS\r\n");
  EXPECT_EQ(client.learned().greeting, "Welcome\nfree text\nready");
  feed("234 AUTH TLS ok\r\n");
  EXPECT_EQ(client.next(), Next::start_tls);
  client.tls_started();
  EXPECT_EQ(client.take_output(), "PBSZ 0\r\n");
  EXPECT_EQ(feed("200 PBSZ=0\r\n"), "PROT P\r\n");
  EXPECT_EQ(feed("200 PROT now Private\r\n"), "FEAT\r\n");
  feed("211-Features:\r\n MDTM\r\n PROT\r\n211 End\r\n");
  EXPECT_EQ(client.next(), Next::done);
  EXPECT_EQ(client.learned().capabilities, (std::vector<std::string>{"MDTM", "PROT"}));
}

TEST(FtpClient, RefusesInjectionStrippingAndClearData) {
  {
    FtpClient client;
    Feeder feed(client);
    feed("220 ready\r\n");
    feed("234 go\r\n230 logged in\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
  }
  {
    FtpClient client;
    Feeder feed(client);
    feed("220 ready\r\n");
    feed("500 AUTH not understood\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
    EXPECT_NE(client.error_message().find("500 AUTH not understood"), std::string::npos);
  }
  {
    FtpClient client;
    Feeder feed(client);
    feed("220 ready\r\n234 go\r\n");
    client.tls_started();
    feed("200 PBSZ=0\r\n");
    feed("534 PROT P refused\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
    EXPECT_NE(client.error_message().find("PROT P"), std::string::npos);
  }
}

TEST(FtpServer, RefusesLoginsBeforeTlsAndPipelinedCommands) {
  FtpServer server;
  Feeder feed(server);
  server.take_output();
  EXPECT_EQ(feed("USER alice\r\n"), "530 TLS is required: AUTH TLS first\r\n");
  EXPECT_EQ(feed("AUTH TLS\r\nUSER alice\r\n"),
            "421 command pipelined after AUTH TLS; closing\r\n");
  EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
}

TEST(FtpServer, IsDoneOnceTlsIsUp) {
  test::ServerFeeder server(Protocol::ftp);
  EXPECT_EQ(server.greeting(), "220 localhost FTP\r\n");
  EXPECT_EQ(server("FEAT\r\n"), "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n");
  EXPECT_EQ(server("AUTH TLS\r\n"), "234 AUTH TLS successful\r\n");
  EXPECT_EQ(server.tls_started(), "");
  EXPECT_TRUE(server.in_session());
}

TEST(FtpOverTls, ClientUpgradesThenClearsTheControlConnection) {
  test::run([]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto executor = co_await asio::this_coro::executor;
    auto pair = test::memory_pair(executor);
    Stream client(std::move(pair.client), test::pki().client, "localhost");
    Stream server(std::move(pair.server), test::pki().server);
    auto serve = [&]() -> asio::awaitable<Learned> {
      Learned learned = co_await starttls::server(server, Protocol::ftp);
      co_await sessions::serve_ftp(server, learned, {});
      co_return learned;
    };
    auto talk = [&]() -> asio::awaitable<std::string> {
      Learned learned = co_await starttls::client(client, Protocol::ftp);
      EXPECT_TRUE(client.is_tls());
      EXPECT_FALSE(learned.capabilities.empty());
      co_await client.write_all("USER alice\r\nPASS x\r\n");
      co_await client.read_line();
      co_await client.read_line();
      co_await ftp::clear_command_channel(client);
      EXPECT_FALSE(client.is_tls());
      co_await client.write_all("PWD\r\n");
      auto pwd = co_await client.read_line();
      co_await client.write_all("QUIT\r\n");
      co_await client.read_line();
      co_return pwd.value_or("");
    };
    auto [learned, pwd] = co_await (serve() && talk());
    EXPECT_TRUE(learned.tls);
    EXPECT_FALSE(server.is_tls());
    EXPECT_EQ(pwd, "257 \"/\" is the current directory");
  });
}

}  // namespace
}  // namespace uptls::starttls

namespace uptls::starttls {
namespace {

// Data connections need TCP: a server of the FTP session on loopback.
Handler ftp_session_handler() {
  return [](Stream stream) -> asio::awaitable<void> {
    Learned learned = co_await starttls::server(stream, Protocol::ftp);
    co_await sessions::serve_ftp(stream, learned, {});
    co_await stream.close();
  };
}

ServeOptions ftp_serve_options() {
  ServeOptions serve;
  serve.tls = test::pki().server;
  serve.upgradeable = true;
  return serve;
}

ConnectOptions client_options() {
  ConnectOptions connect;
  connect.tls = test::pki().client;
  connect.upgradeable = true;
  connect.server_name = "localhost";
  return connect;
}

/// A control connection to server over TLS, logged in.
asio::awaitable<Stream> logged_in(Server& server) {
  Stream control =
      co_await open_connection("127.0.0.1", server.local_endpoint().port(), client_options());
  co_await starttls::client(control, Protocol::ftp);
  co_await control.write_all("USER alice\r\nPASS x\r\n");
  co_await control.read_line();
  co_await control.read_line();
  co_return control;
}

// ftp::download as the client, each data connection protected (PROT P).
TEST(FtpOverTcp, DownloadsOverProtectedDataConnections) {
  test::run([]() -> asio::awaitable<void> {
    Server server =
        co_await start_server(ftp_session_handler(), "127.0.0.1", 0, ftp_serve_options());
    Stream control = co_await logged_in(server);
    std::string listing = co_await ftp::download(control, "LIST");
    EXPECT_NE(listing.find(" hello.txt\r\n"), std::string::npos) << listing;
    std::string file = co_await ftp::download(control, "RETR hello.txt");
    EXPECT_EQ(file.substr(0, 30), "From: uptls <uptls@localhost>\r");
    auto missing = co_await test::caught(ftp::download(control, "RETR nothing.txt"));
    EXPECT_EQ(missing.code, make_error_code(errc::protocol_error));
    EXPECT_NE(missing.message.find("550 there is only hello.txt"), std::string::npos)
        << missing.message;
    co_await control.write_all("QUIT\r\n");
    co_await control.read_line();
    co_await control.close();
    co_await server.stop();
  });
}

// The data connection belongs to the control connection's client: one
// that races to the passive port from another address is closed unserved,
// and one from the right address that does not resume the control
// connection's TLS session (another local user) is refused. The file goes
// to neither, and the control connection says why.
TEST(FtpOverTcp, DataConnectionsBelongToTheControlConnectionsClient) {
  test::run([]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    Server server =
        co_await start_server(ftp_session_handler(), "127.0.0.1", 0, ftp_serve_options());
    Stream control = co_await logged_in(server);
    co_await control.write_all("EPSV\r\n");
    std::string passive = (co_await control.read_line()).value_or("");
    auto bar = passive.find("(|||");
    EXPECT_NE(bar, std::string::npos) << passive;
    if (bar == std::string::npos) co_return;
    auto port = static_cast<std::uint16_t>(std::stoi(passive.substr(bar + 4)));

    asio::ip::tcp::socket intruder(executor);
    intruder.open(asio::ip::tcp::v4());
    intruder.bind({asio::ip::make_address("127.0.0.2"), 0});
    co_await intruder.async_connect({asio::ip::make_address("127.0.0.1"), port},
                                    asio::use_awaitable);
    Stream stranger = co_await open_connection("127.0.0.1", port, client_options());
    co_await control.write_all("RETR hello.txt\r\n");
    EXPECT_EQ((co_await control.read_line()).value_or("").substr(0, 4), "150 ");

    char byte = 0;
    auto [intruder_ec, intruder_bytes] = co_await intruder.async_read_some(
        asio::buffer(&byte, 1), asio::experimental::as_tuple(asio::use_awaitable));
    EXPECT_TRUE(intruder_ec) << "the connection from another address was closed";
    EXPECT_EQ(intruder_bytes, 0u);
    auto refused = co_await test::caught([&]() -> asio::awaitable<void> {
      co_await stranger.start_tls();
      char chunk[256];
      while (co_await stranger.read_some(asio::buffer(chunk)) > 0) {
        ADD_FAILURE() << "the file went to a client that did not resume the session";
      }
    }());
    EXPECT_TRUE(refused.code) << "the stranger's data connection failed";
    std::string done = (co_await control.read_line()).value_or("");
    EXPECT_EQ(done.substr(0, 4), "426 ") << done;
    EXPECT_NE(done.find("resumed no session"), std::string::npos) << done;

    // The control connection's own client still gets the file.
    std::string file = co_await ftp::download(control, "RETR hello.txt");
    EXPECT_EQ(file.substr(0, 30), "From: uptls <uptls@localhost>\r");
    co_await control.write_all("QUIT\r\n");
    co_await control.read_line();
    co_await control.close();
    co_await server.stop();
  });
}

}  // namespace
}  // namespace uptls::starttls
