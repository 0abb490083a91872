#include "starttls/irc.hpp"

#include <gtest/gtest.h>

#include "unit/starttls/dialogue_support.hpp"

// IRC STARTTLS (IRCv3): the pure dialogues, the EAST cases, both halves
// over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;

TEST(IrcClient, UpgradesOn670AndListsCapabilitiesOverTls) {
  IrcClient client;
  Feeder feed(client);
  EXPECT_EQ(client.take_output(), "STARTTLS\r\n");
  feed(":irc.example NOTICE * :*** Looking up your hostname\r\n");
  EXPECT_EQ(client.next(), Next::receive);
  feed(":irc.example 670 * :STARTTLS successful, go ahead with TLS handshake\r\n");
  EXPECT_EQ(client.next(), Next::start_tls);
  client.tls_started();
  EXPECT_EQ(client.take_output(), "CAP LS 302\r\n");
  EXPECT_EQ(feed(":irc.example CAP * LS * :multi-prefix sasl\r\n"), "");
  EXPECT_EQ(feed(":irc.example CAP * LS :server-time\r\n"), "CAP END\r\n");
  EXPECT_EQ(client.next(), Next::done);
  EXPECT_EQ(client.learned().capabilities,
            (std::vector<std::string>{"multi-prefix", "sasl", "server-time"}));
  EXPECT_EQ(client.learned().greeting, "*** Looking up your hostname");
}

TEST(IrcClient, RefusesInjectionAndRefusals) {
  {
    IrcClient client;
    Feeder feed(client);
    feed(":irc 670 * :go\r\n:irc 001 alice :Welcome\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
  }
  {
    IrcClient client;
    Feeder feed(client);
    feed(":irc 421 * STARTTLS :Unknown command\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
    EXPECT_NE(client.error_message().find("Unknown command"), std::string::npos);
  }
  {
    IrcClient client;
    Feeder feed(client);
    feed(":irc 691 * :STARTTLS failure\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
  }
}

TEST(IrcServer, RefusesRegistrationBeforeTlsAndPipelinedCommands) {
  {
    IrcServer server;
    Feeder feed(server);
    EXPECT_EQ(feed("NICK alice\r\n"), "ERROR :TLS is required: send STARTTLS first\r\n");
    EXPECT_EQ(server.next(), Next::failed);
  }
  {
    IrcServer server;
    Feeder feed(server);
    EXPECT_EQ(feed("STARTTLS\r\nNICK alice\r\n"),
              "ERROR :command pipelined after STARTTLS; closing\r\n");
    EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
  }
}

TEST(IrcOverTls, ClientAndServerUpgrade) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::irc);
    EXPECT_TRUE(both.client.tls);
    EXPECT_EQ(both.client.capabilities, std::vector<std::string>{"server-time"});
  });
}

}  // namespace
}  // namespace uptls::starttls
