#include "starttls/nntp.hpp"

#include <gtest/gtest.h>

#include <ctime>

#include "unit/starttls/dialogue_support.hpp"

// NNTP (RFC 4642): the pure dialogues, the EAST cases, both halves over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;

TEST(NntpClient, UpgradesAndAsksForCapabilitiesAgain) {
  NntpClient client;
  Feeder feed(client);
  EXPECT_EQ(feed("200 news ready\r\n"), "CAPABILITIES\r\n");
  EXPECT_EQ(feed("101 list\r\nVERSION 2\r\nREADER\r\nSTARTTLS\r\n.\r\n"), "STARTTLS\r\n");
  feed("382 go\r\n");
  EXPECT_EQ(client.next(), Next::start_tls);
  client.tls_started();
  EXPECT_EQ(client.take_output(), "CAPABILITIES\r\n");
  feed("101 list\r\nVERSION 2\r\nAUTHINFO USER\r\n.\r\n");
  EXPECT_EQ(client.next(), Next::done);
  EXPECT_EQ(client.learned().capabilities,
            (std::vector<std::string>{"VERSION 2", "AUTHINFO USER"}));
}

TEST(NntpClient, RefusesInjectionStrippingAndRefusals) {
  {
    NntpClient client;
    Feeder feed(client);
    feed("200 news\r\n101 list\r\nSTARTTLS\r\n.\r\n");
    feed("382 go\r\n101 list\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
  }
  {
    NntpClient client;
    Feeder feed(client);
    feed("200 news\r\n101 list\r\nREADER\r\n.\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
    EXPECT_NE(client.error_message().find("capabilities: READER"), std::string::npos);
  }
  {
    NntpClient client;
    Feeder feed(client);
    feed("200 news\r\n101 list\r\nSTARTTLS\r\n.\r\n");
    feed("580 Can not initiate TLS negotiation\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
    EXPECT_NE(client.error_message().find("580 Can not initiate"), std::string::npos);
  }
  {
    NntpClient client;
    Feeder feed(client);
    feed("502 go away\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
  }
}

TEST(NntpServer, RefusesAuthinfoBeforeTlsAndPipelinedCommands) {
  NntpServer server;
  Feeder feed(server);
  server.take_output();
  EXPECT_EQ(feed("AUTHINFO USER alice\r\n"), "483 TLS is required: STARTTLS first\r\n");
  EXPECT_EQ(feed("STARTTLS\r\nGROUP uptls.test\r\n"),
            "580 command pipelined after STARTTLS; closing\r\n");
  EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
}

TEST(NntpSession, ServesOneArticle) {
  test::ServerFeeder server(Protocol::nntp);
  EXPECT_EQ(server("STARTTLS\r\n"), "382 Continue with TLS negotiation\r\n");
  server.tls_started();
  EXPECT_EQ(server("GROUP uptls.test\r\n"), "211 1 1 1 uptls.test\r\n");
  std::string article = server("ARTICLE 1\r\n");
  EXPECT_EQ(article.substr(0, 4), "220 ");
  EXPECT_NE(article.find("Subject: Hello from uptls\r\n"), std::string::npos);
  EXPECT_EQ(server("ARTICLE 2\r\n"), "423 no article with that number\r\n");
  // RFC 3977 §7.1: the current UTC time, not a fixed one.
  auto now = [] {
    std::time_t t = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&t, &utc);
    char text[16];
    std::strftime(text, sizeof text, "%Y%m%d%H%M", &utc);
    return std::string(text);
  };
  std::string before = now();
  std::string date = server("DATE\r\n");
  std::string after = now();
  ASSERT_EQ(date.size(), 20u) << date;
  EXPECT_EQ(date.substr(0, 4), "111 ");
  std::string minute = date.substr(4, 12);
  EXPECT_TRUE(minute == before || minute == after) << date << " at " << before;
  EXPECT_EQ(server("POST\r\n").substr(0, 4), "340 ");
  EXPECT_EQ(server("Subject: x\r\n\r\n..hi\r\n.\r\n"), "240 article received (discarded)\r\n");
  EXPECT_EQ(server("QUIT\r\n"), "205 closing connection\r\n");
  EXPECT_EQ(server->next(), Next::done);
}

TEST(NntpOverTls, ClientAndServerUpgrade) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::nntp);
    EXPECT_TRUE(both.client.tls);
    EXPECT_EQ(both.client.greeting, "localhost NNTP");
  });
}

}  // namespace
}  // namespace uptls::starttls
