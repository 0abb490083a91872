#include "starttls/pop3.hpp"

#include <gtest/gtest.h>

#include "unit/starttls/dialogue_support.hpp"

// POP3 (RFC 2595): the pure dialogues, the EAST cases, both halves over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;

void to_stls(Pop3Client& client, Feeder& feed) {
  ASSERT_EQ(feed("+OK ready\r\n"), "CAPA\r\n");
  ASSERT_EQ(feed("+OK list\r\nTOP\r\nSTLS\r\nSASL PLAIN\r\n.\r\n"), "STLS\r\n");
  ASSERT_EQ(client.next(), Next::receive);
}

TEST(Pop3Client, UpgradesAndAsksForCapabilitiesAgain) {
  Pop3Client client;
  Feeder feed(client);
  ASSERT_NO_FATAL_FAILURE(to_stls(client, feed));
  EXPECT_EQ(client.learned().capabilities, (std::vector<std::string>{"TOP", "STLS", "SASL PLAIN"}));
  feed("+OK begin\r\n");
  EXPECT_EQ(client.next(), Next::start_tls);
  client.tls_started();
  EXPECT_TRUE(client.learned().capabilities.empty());
  EXPECT_EQ(client.take_output(), "CAPA\r\n");
  feed("+OK\r\nTOP\r\nUSER\r\n.\r\n");
  EXPECT_EQ(client.next(), Next::done);
  EXPECT_EQ(client.learned().capabilities, (std::vector<std::string>{"TOP", "USER"}));
}

// The failures of the list client POP3 shares with NNTP, each with what
// the server sent quoted.
TEST(Pop3Client, SaysWhatCameWhereAReplyOrAListWasDue) {
  {
    Pop3Client client;
    Feeder feed(client);
    feed("* OK this is IMAP\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
    EXPECT_NE(client.error_message().find("pop3: the server sent \"* OK this is IMAP\" where a "
                                          "reply was due"),
              std::string::npos)
        << client.error_message();
  }
  {
    Pop3Client client;
    Feeder feed(client);
    feed("-ERR go away\r\n");
    EXPECT_NE(client.error_message().find("refused the session: \"-ERR go away\""),
              std::string::npos)
        << client.error_message();
  }
  {
    ClientDialogueOptions options;
    options.max_reply_lines = 3;
    Pop3Client client(options);
    Feeder feed(client);
    feed("+OK ready\r\n+OK\r\nA\r\nB\r\nC\r\nD\r\n.\r\n");
    EXPECT_NE(client.error_message().find("longer than 3 lines"), std::string::npos)
        << client.error_message();
  }
  {
    Pop3Client client;
    Feeder feed(client);
    ASSERT_NO_FATAL_FAILURE(to_stls(client, feed));
    feed("+OK begin\r\n");
    client.tls_started();
    client.take_output();
    feed("-ERR no CAPA for you\r\n");
    EXPECT_NE(client.error_message().find("pop3: the server refused CAPA over TLS"),
              std::string::npos)
        << client.error_message();
  }
}

TEST(Pop3Client, RefusesInjectionStrippingAndRefusals) {
  {
    Pop3Client client;
    Feeder feed(client);
    ASSERT_NO_FATAL_FAILURE(to_stls(client, feed));
    feed("+OK begin\r\n+OK fake\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
  }
  {
    Pop3Client client;
    Feeder feed(client);
    feed("+OK ready\r\n");
    feed("+OK\r\nTOP\r\nUSER\r\n.\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
    EXPECT_NE(client.error_message().find("TOP / USER"), std::string::npos);
  }
  {
    Pop3Client client;
    Feeder feed(client);
    feed("+OK ready\r\n");
    feed("-ERR unknown command\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
  }
  {
    Pop3Client client;
    Feeder feed(client);
    ASSERT_NO_FATAL_FAILURE(to_stls(client, feed));
    feed("-ERR not now\r\n");
    EXPECT_NE(client.error_message().find("refused STLS: \"-ERR not now\""), std::string::npos)
        << client.error_message();
  }
}

TEST(Pop3Server, RefusesLoginBeforeTlsAndPipelinedCommands) {
  Pop3Server server;
  Feeder feed(server);
  server.take_output();
  EXPECT_EQ(feed("USER alice\r\n"), "-ERR [AUTH] TLS is required: STLS first\r\n");
  EXPECT_NE(feed("CAPA\r\n").find("STLS\r\n"), std::string::npos);
  EXPECT_EQ(feed("STLS\r\nUSER alice\r\n"), "-ERR command pipelined after STLS; closing\r\n");
  EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
}

TEST(Pop3OverTls, ClientAndServerUpgrade) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::pop3);
    EXPECT_TRUE(both.client.tls);
    EXPECT_EQ(both.client.capabilities,
              (std::vector<std::string>{"TOP", "UIDL", "USER", "IMPLEMENTATION uptls"}));
  });
}

}  // namespace
}  // namespace uptls::starttls
