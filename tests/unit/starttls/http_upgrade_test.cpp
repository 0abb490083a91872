#include "starttls/http_upgrade.hpp"

#include <gtest/gtest.h>

#include "unit/starttls/dialogue_support.hpp"

// RFC 2817's Upgrade: TLS/1.0, both halves; CONNECT through a proxy.

namespace uptls::starttls {
namespace {

using test::Feeder;

constexpr std::string_view switching =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: TLS/1.0, HTTP/1.1\r\nConnection: Upgrade\r\n\r\n";

TEST(HttpUpgradeClient, AsksAndUpgradesOn101) {
  ClientDialogueOptions options;
  options.server_name = "www.example.org";
  HttpUpgradeClient client(options);
  Feeder feed(client);
  EXPECT_EQ(client.take_output(),
            "OPTIONS * HTTP/1.1\r\nHost: www.example.org\r\nUpgrade: TLS/1.0\r\n"
            "Connection: Upgrade\r\n\r\n");
  for (char c : switching) feed(std::string(1, c));
  EXPECT_EQ(client.next(), Next::start_tls);
}

TEST(HttpUpgradeClient, RefusesInjectionAndOtherAnswers) {
  {
    HttpUpgradeClient client;
    Feeder feed(client);
    feed(std::string(switching) + "HTTP/1.1 200 OK\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
  }
  {
    HttpUpgradeClient client;
    Feeder feed(client);
    feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
    EXPECT_NE(client.error_message().find("HTTP/1.1 200 OK"), std::string::npos);
  }
}

TEST(HttpUpgradeServer, UpgradesOrRequiresTheUpgrade) {
  {
    HttpUpgradeServer server;
    Feeder feed(server);
    EXPECT_EQ(
        feed("OPTIONS * HTTP/1.1\r\nHost: a\r\nUpgrade: TLS/1.0\r\nConnection: Upgrade\r\n\r\n"),
        switching);
    EXPECT_EQ(server.next(), Next::start_tls);
  }
  {
    HttpUpgradeServer server;
    Feeder feed(server);
    std::string answer = feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(answer.substr(0, 30), "HTTP/1.1 426 Upgrade Required\r");
    EXPECT_NE(answer.find("Upgrade: TLS/1.0, HTTP/1.1\r\n"), std::string::npos);
  }
  {
    HttpUpgradeServer server;
    Feeder feed(server);
    feed(
        "OPTIONS * HTTP/1.1\r\nHost: a\r\nUpgrade: TLS/1.0\r\nConnection: Upgrade\r\n\r\n"
        "GET /secret HTTP/1.1\r\n");
    EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
  }
}

TEST(HttpConnectClient, TunnelsAndLeavesTheOriginsBytes) {
  HttpConnectClient client("mail.example.org:25", "alice:secret");
  Feeder feed(client);
  EXPECT_EQ(client.take_output(),
            "CONNECT mail.example.org:25 HTTP/1.1\r\nHost: mail.example.org:25\r\n"
            "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n");
  feed("HTTP/1.1 200 Connection established\r\n\r\n220 mail ESMTP\r\n");
  EXPECT_EQ(client.next(), Next::done);
  EXPECT_EQ(feed.pending(), "220 mail ESMTP\r\n");
}

TEST(HttpConnectClient, QuotesARefusal) {
  HttpConnectClient client("mail.example.org:25");
  Feeder feed(client);
  feed("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
  EXPECT_NE(client.error_message().find("407 Proxy Authentication Required"), std::string::npos);
}

TEST(HttpUpgradeOverTls, ClientAndServerUpgrade) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::http_upgrade);
    EXPECT_TRUE(both.client.tls);
    EXPECT_TRUE(both.server.tls);
  });
}

}  // namespace
}  // namespace uptls::starttls
