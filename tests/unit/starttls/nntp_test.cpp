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

TEST(NntpOverTls, ClientAndServerUpgrade) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::nntp);
    EXPECT_TRUE(both.client.tls);
    EXPECT_EQ(both.client.greeting, "localhost NNTP");
  });
}

}  // namespace
}  // namespace uptls::starttls
