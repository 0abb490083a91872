#include "starttls/imap.hpp"

#include <gtest/gtest.h>

#include "unit/starttls/dialogue_support.hpp"

// IMAP (RFC 9051): the pure dialogues byte by byte, literals, the EAST
// injection and stripping cases, and both halves over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;

void to_starttls(ImapClient& client, Feeder& feed) {
  ASSERT_EQ(feed("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"), "A001 CAPABILITY\r\n");
  ASSERT_EQ(feed("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nA001 OK done\r\n"),
            "A002 STARTTLS\r\n");
  ASSERT_EQ(client.next(), Next::receive);
}

TEST(ImapClient, UpgradesAndAsksForCapabilitiesAgain) {
  ImapClient client;
  Feeder feed(client);
  ASSERT_NO_FATAL_FAILURE(to_starttls(client, feed));
  EXPECT_EQ(feed("A002 OK Begin TLS negotiation now\r\n"), "");
  EXPECT_EQ(client.next(), Next::start_tls);
  client.tls_started();
  EXPECT_TRUE(client.learned().capabilities.empty());
  EXPECT_EQ(client.take_output(), "A003 CAPABILITY\r\n");
  feed("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA003 OK done\r\n");
  EXPECT_EQ(client.next(), Next::done);
  EXPECT_EQ(client.learned().capabilities, (std::vector<std::string>{"IMAP4rev1", "AUTH=PLAIN"}));
  EXPECT_EQ(client.learned().greeting, "[CAPABILITY IMAP4rev1 STARTTLS] ready");
}

TEST(ImapClient, IgnoresUntaggedCapabilitiesWhileStarttlsIsPending) {
  // EAST: capabilities planted before the tagged OK of STARTTLS.
  ImapClient client;
  Feeder feed(client);
  ASSERT_NO_FATAL_FAILURE(to_starttls(client, feed));
  feed("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA002 OK go\r\n");
  EXPECT_EQ(client.next(), Next::start_tls);
  client.tls_started();
  client.take_output();
  feed("* CAPABILITY IMAP4rev1\r\nA003 OK done\r\n");
  EXPECT_EQ(client.learned().capabilities, std::vector<std::string>{"IMAP4rev1"});
}

TEST(ImapClient, RefusesBytesAfterTheTaggedOk) {
  ImapClient client;
  Feeder feed(client);
  ASSERT_NO_FATAL_FAILURE(to_starttls(client, feed));
  feed("A002 OK go\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
  EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
  EXPECT_NE(client.error_message().find("AUTH=PLAIN"), std::string::npos);
}

TEST(ImapClient, ReadsLiteralsAsData) {
  // A tagged OK inside a literal is data, not the end of the command.
  ImapClient client;
  Feeder feed(client);
  feed("* OK ready\r\n");
  feed("* 1 FETCH (BODY[] {14}\r\nA001 OK fake\r\n)\r\n* CAPABILITY IMAP4rev1\r\n");
  EXPECT_EQ(client.next(), Next::receive);
  feed("A001 OK done\r\n");
  EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
  EXPECT_NE(client.error_message().find("capabilities: IMAP4rev1)"), std::string::npos)
      << client.error_message();
}

TEST(ImapClient, PreauthLeavesNoRoomForStarttls) {
  {
    ImapClient client;
    Feeder feed(client);
    feed("* PREAUTH [CAPABILITY IMAP4rev1] logged in\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
    EXPECT_NE(client.error_message().find("PREAUTH"), std::string::npos);
  }
  {
    ClientDialogueOptions options;
    options.policy = Policy::opportunistic;
    ImapClient client(options);
    Feeder feed(client);
    feed("* PREAUTH logged in\r\n");
    EXPECT_EQ(client.next(), Next::done);
    EXPECT_FALSE(client.learned().tls);
  }
}

TEST(ImapClient, QuotesRefusalsAndStrangeTags) {
  {
    ImapClient client;
    Feeder feed(client);
    ASSERT_NO_FATAL_FAILURE(to_starttls(client, feed));
    feed("A002 NO [UNAVAILABLE] TLS is broken here\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
    EXPECT_NE(client.error_message().find("TLS is broken here"), std::string::npos);
  }
  {
    ImapClient client;
    Feeder feed(client);
    feed("* OK ready\r\nB001 OK what\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
  }
  {
    ImapClient client;
    Feeder feed(client);
    feed("* BYE go away\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
    EXPECT_NE(client.error_message().find("go away"), std::string::npos);
  }
}

TEST(ImapServer, RefusesLoginBeforeTlsAndPipelinedCommands) {
  ImapServer server;
  Feeder feed(server);
  EXPECT_NE(server.take_output().find("STARTTLS LOGINDISABLED"), std::string::npos);
  EXPECT_EQ(feed("a LOGIN alice secret\r\n"),
            "a NO [PRIVACYREQUIRED] TLS is required: STARTTLS first\r\n");
  EXPECT_EQ(feed("b STARTTLS\r\nc LOGIN alice secret\r\n"),
            "b BAD command pipelined after STARTTLS; closing\r\n");
  EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
}

// Before TLS no command needs more than 64 KiB either.
TEST(ImapServer, RefusesALargeLiteralBeforeTls) {
  ImapServer server;
  Feeder feed(server);
  server.take_output();
  EXPECT_EQ(feed("a LOGIN {100000}\r\n"), "* BYE command too large\r\n");
  EXPECT_EQ(server.error(), make_error_code(errc::line_too_long));
  EXPECT_NE(server.error_message().find("65536 bytes before TLS"), std::string::npos)
      << server.error_message();
}

TEST(ImapOverTls, ClientAndServerUpgrade) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::imap);
    EXPECT_TRUE(both.client.tls);
    EXPECT_EQ(both.client.capabilities,
              (std::vector<std::string>{"IMAP4rev1", "AUTH=PLAIN", "ID", "ENABLE", "UNSELECT"}));
  });
}

}  // namespace
}  // namespace uptls::starttls
