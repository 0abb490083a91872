#include "starttls/smtp.hpp"

#include <gtest/gtest.h>

#include "unit/starttls/dialogue_support.hpp"

// SMTP and LMTP (RFC 3207, RFC 2033): the pure dialogues byte by byte, the
// EAST injection and stripping cases, and both halves over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;

/// A client brought to the point of sending STARTTLS.
void to_starttls(SmtpClient& client, Feeder& feed) {
  ASSERT_EQ(feed("220 mx.example ESMTP\r\n"), "EHLO localhost\r\n");
  ASSERT_EQ(feed("250-mx.example\r\n250-PIPELINING\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"),
            "STARTTLS\r\n");
  ASSERT_EQ(client.next(), Next::receive);
}

TEST(SmtpClient, UpgradesAndAsksForCapabilitiesAgain) {
  SmtpClient client;
  Feeder feed(client);
  ASSERT_NO_FATAL_FAILURE(to_starttls(client, feed));
  EXPECT_EQ(client.learned().capabilities,
            (std::vector<std::string>{"PIPELINING", "AUTH PLAIN", "STARTTLS"}));
  EXPECT_EQ(feed("220 2.0.0 go ahead\r\n"), "");
  EXPECT_EQ(client.next(), Next::start_tls);
  client.tls_started();
  // Capability reuse (EAST): nothing said in plaintext survives the upgrade.
  EXPECT_TRUE(client.learned().capabilities.empty());
  EXPECT_EQ(client.take_output(), "EHLO localhost\r\n");
  EXPECT_EQ(feed("250-mx.example\r\n250 SIZE 100\r\n"), "");
  EXPECT_EQ(client.next(), Next::done);
  EXPECT_TRUE(client.learned().tls);
  EXPECT_EQ(client.learned().capabilities, std::vector<std::string>{"SIZE 100"});
  EXPECT_EQ(client.learned().greeting, "mx.example ESMTP");
}

TEST(SmtpClient, ReadsRepliesByteByByte) {
  SmtpClient client;
  Feeder feed(client);
  std::string output;
  for (char c : std::string("220-first\r\n220 second\r\n")) output += feed(std::string(1, c));
  EXPECT_EQ(output, "EHLO localhost\r\n");
  EXPECT_EQ(client.learned().greeting, "first\nsecond");
  // The reply as it came: a relay passes it on unchanged.
  EXPECT_EQ(client.learned().raw_greeting, "220-first\r\n220 second\r\n");
  feed("250-localhost\r\n250 STARTTLS\r\n");
  EXPECT_EQ(client.learned().raw_greeting, "220-first\r\n220 second\r\n");
}

TEST(SmtpClient, RefusesBytesAfterTheGoAhead) {
  // EAST response injection: a reply planted behind the 220 would be read
  // as if it had come over TLS.
  SmtpClient client;
  Feeder feed(client);
  ASSERT_NO_FATAL_FAILURE(to_starttls(client, feed));
  feed("220 go ahead\r\n250-evil\r\n250 AUTH PLAIN\r\n");
  EXPECT_EQ(client.next(), Next::failed);
  EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
  EXPECT_NE(client.error_message().find("250-evil"), std::string::npos) << client.error_message();
}

TEST(SmtpClient, RequiredPolicyRefusesAServerWithoutStarttls) {
  // EAST stripping: an attacker removes STARTTLS from the EHLO reply.
  SmtpClient client;
  Feeder feed(client);
  feed("220 mx\r\n");
  feed("250-mx\r\n250 PIPELINING\r\n");
  EXPECT_EQ(client.next(), Next::failed);
  EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
  EXPECT_NE(client.error_message().find("did not offer STARTTLS (its capabilities: PIPELINING)"),
            std::string::npos)
      << client.error_message();
}

TEST(SmtpClient, RequiredPolicyQuotesARefusal) {
  SmtpClient client;
  Feeder feed(client);
  ASSERT_NO_FATAL_FAILURE(to_starttls(client, feed));
  feed("454 4.7.0 TLS not available due to local problem\r\n");
  EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
  EXPECT_NE(client.error_message().find("454 4.7.0 TLS not available"), std::string::npos);
}

TEST(SmtpClient, OpportunisticPolicyGoesOnInPlaintextAndSaysWhy) {
  ClientDialogueOptions options;
  options.policy = Policy::opportunistic;
  SmtpClient client(options);
  Feeder feed(client);
  feed("220 mx\r\n");
  feed("250-mx\r\n250 SIZE 5\r\n");
  EXPECT_EQ(client.next(), Next::done);
  EXPECT_FALSE(client.learned().tls);
  EXPECT_NE(client.learned().plaintext_reason.find("did not offer STARTTLS"), std::string::npos);
  EXPECT_EQ(client.learned().capabilities, std::vector<std::string>{"SIZE 5"});
}

TEST(SmtpClient, QuotesARefusedSessionAndMalformedReplies) {
  {
    SmtpClient client;
    Feeder feed(client);
    feed("554 5.7.1 go away\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
    EXPECT_NE(client.error_message().find("554 5.7.1 go away"), std::string::npos);
  }
  {
    SmtpClient client;
    Feeder feed(client);
    feed("SSH-2.0-OpenSSH_9.2\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
    EXPECT_NE(client.error_message().find("SSH-2.0"), std::string::npos);
  }
  {
    SmtpClient client;
    Feeder feed(client);
    feed("220-a\r\n250 b\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
  }
}

TEST(SmtpClient, BoundsLinesAndReplies) {
  ClientDialogueOptions options;
  options.max_line = 100;
  options.max_reply_lines = 10;
  {
    SmtpClient client(options);
    Feeder feed(client);
    feed("220 " + std::string(200, 'x'));
    EXPECT_EQ(client.error(), make_error_code(errc::line_too_long));
  }
  {
    SmtpClient client(options);
    Feeder feed(client);
    std::string endless;
    for (int i = 0; i < 11; ++i) endless += "220-more\r\n";
    feed(endless);
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
    EXPECT_NE(client.error_message().find("longer than 10 lines"), std::string::npos);
  }
}

TEST(SmtpClient, EndOfInputIsAnError) {
  SmtpClient client;
  Feeder feed(client);
  feed("220 mx\r\n");
  client.end_of_input();
  EXPECT_EQ(client.error(), make_error_code(errc::unexpected_eof));
  EXPECT_NE(client.error_message().find("before TLS"), std::string::npos);
}

TEST(LmtpClient, SaysLhlo) {
  SmtpClient client({}, true);
  Feeder feed(client);
  EXPECT_EQ(feed("220 lmtp\r\n"), "LHLO localhost\r\n");
  EXPECT_EQ(client.protocol(), "lmtp");
}

TEST(SmtpServer, OffersStarttlsAndRefusesMailBeforeIt) {
  SmtpServer server;
  Feeder feed(server);
  EXPECT_EQ(server.take_output(), "220 localhost ESMTP\r\n");
  std::string hello = feed("EHLO client.example\r\n");
  EXPECT_NE(hello.find("250 STARTTLS\r\n"), std::string::npos) << hello;
  EXPECT_EQ(server.learned().greeting, "client.example");
  EXPECT_EQ(feed("MAIL FROM:<a@example>\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n");
  // One list: every command an opportunistic server hands over is refused
  // alike by a required one (AUTH got 500 while MAIL got 530).
  for (std::string_view verb : {"AUTH PLAIN AGFsaWNlAHNlY3JldA==", "RCPT TO:<b@example>", "DATA",
                                "BDAT 10 LAST", "ETRN example"}) {
    EXPECT_EQ(feed(std::string(verb) + "\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n")
        << verb;
  }
  EXPECT_EQ(feed("NOOP\r\n"), "250 2.0.0 OK\r\n");
  EXPECT_EQ(feed("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(server.next(), Next::start_tls);
  server.tls_started();
  // Library mode: the application serves what follows the handshake.
  EXPECT_EQ(server.next(), Next::done);
  EXPECT_TRUE(server.learned().greeting.empty());
}

TEST(SmtpServer, RefusesCommandsPipelinedAfterStarttls) {
  // CVE-2011-0411: commands sent with STARTTLS would run as if sent over TLS.
  SmtpServer server;
  Feeder feed(server);
  server.take_output();
  feed("EHLO c\r\n");
  EXPECT_EQ(feed("STARTTLS\r\nMAIL FROM:<evil@example>\r\n"),
            "554 5.5.1 Error: command pipelined after STARTTLS; closing\r\n");
  EXPECT_EQ(server.next(), Next::failed);
  EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
  EXPECT_NE(server.error_message().find("MAIL FROM:<evil@example>"), std::string::npos);
}

TEST(SmtpServer, IsDoneOnceTlsIsUp) {
  SmtpServer server;
  Feeder feed(server);
  server.take_output();
  feed("EHLO c\r\n");
  EXPECT_EQ(feed("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  server.tls_started();
  EXPECT_EQ(server.next(), Next::done);
  EXPECT_TRUE(server.learned().tls);
  EXPECT_FALSE(server.learned().client_left);
  EXPECT_EQ(server.take_output(), "");
}

TEST(SmtpServer, AdvertisesOnlyWhatItIsGiven) {
  ServerDialogueOptions options;
  options.greeting = "mx.test ESMTP";
  options.capabilities = {"SIZE 1000", "8BITMIME"};
  SmtpServer server(options);
  Feeder feed(server);
  EXPECT_EQ(server.take_output(), "220 mx.test ESMTP\r\n");
  EXPECT_EQ(feed("EHLO c\r\n"),
            "250-localhost\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-SIZE 1000\r\n"
            "250-8BITMIME\r\n250 STARTTLS\r\n");
}

TEST(SmtpServer, RefusesAuthAndMailBeforeTlsWith530) {
  SmtpServer server;
  Feeder feed(server);
  server.take_output();
  feed("EHLO c\r\n");
  for (std::string command : {"AUTH PLAIN AGEAYg==", "MAIL FROM:<a@x>", "RCPT TO:<b@x>", "DATA",
                              "BDAT 10 LAST", "ETRN x"}) {
    EXPECT_EQ(feed(command + "\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n")
        << command;
  }
  EXPECT_EQ(feed("QUIT\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(server.learned().client_left);
}

TEST(SmtpServer, SaysLineTooLongAndStops) {
  ServerDialogueOptions options;
  options.max_line = 50;
  SmtpServer server(options);
  Feeder feed(server);
  server.take_output();
  EXPECT_EQ(feed(std::string(60, 'A')), "500 5.5.2 Error: line too long; closing\r\n");
  EXPECT_EQ(server.error(), make_error_code(errc::line_too_long));
}

TEST(SmtpOverTls, ClientAndServerUpgradeAndSeeTheNewCapabilities) {
  test::run([]() -> asio::awaitable<void> {
    ServerDialogueOptions options;
    options.host_name = "mx.test";
    auto both = co_await test::converse(Protocol::smtp, {}, options);
    EXPECT_TRUE(both.client.tls);
    EXPECT_TRUE(both.server.tls);
    EXPECT_EQ(both.client.greeting, "mx.test ESMTP");
    bool starttls = false;
    for (const auto& c : both.client.capabilities) starttls = starttls || c == "STARTTLS";
    EXPECT_FALSE(starttls);
    EXPECT_FALSE(both.client.capabilities.empty());
  });
}

TEST(SmtpOverTls, ClientRefusesAnInjectedReplyOnTheWire) {
  test::run([]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto pair = test::memory_pair(executor);
    Stream client(std::move(pair.client), test::pki().client, "localhost");
    co_await test::raw_write(*pair.server,
                             "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n250 AUTH PLAIN\r\n");
    auto failure = co_await test::caught(starttls::client(client, Protocol::smtp));
    EXPECT_EQ(failure.code, make_error_code(errc::injected_plaintext));
    EXPECT_NE(failure.message.find("250 AUTH PLAIN"), std::string::npos) << failure.message;
    EXPECT_TRUE(client.is_closed());
  });
}

}  // namespace
}  // namespace uptls::starttls
