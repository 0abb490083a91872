#include "starttls/sieve.hpp"

#include <gtest/gtest.h>

#include "unit/starttls/dialogue_support.hpp"

// ManageSieve (RFC 5804): the pure dialogues, the EAST cases, both halves
// over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;

constexpr std::string_view greeting =
    "\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\"SIEVE\" {8}\r\nfileinto\r\n"
    "\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\nOK \"ready\"\r\n";

TEST(SieveClient, UpgradesAndReadsTheCapabilitiesSentAgain) {
  SieveClient client;
  Feeder feed(client);
  EXPECT_EQ(feed(greeting), "STARTTLS\r\n");
  EXPECT_EQ(client.learned().greeting, "Dovecot Pigeonhole");
  feed("OK \"go\"\r\n");
  EXPECT_EQ(client.next(), Next::start_tls);
  client.tls_started();
  EXPECT_EQ(client.take_output(), "");  // the server speaks first over TLS
  feed("\"IMPLEMENTATION\" \"x\"\r\n\"SASL\" \"PLAIN\"\r\nOK\r\n");
  EXPECT_EQ(client.next(), Next::done);
  EXPECT_EQ(client.learned().capabilities,
            (std::vector<std::string>{"IMPLEMENTATION x", "SASL PLAIN"}));
}

TEST(SieveClient, RefusesStrippingRefusalAndInjection) {
  {
    SieveClient client;
    Feeder feed(client);
    feed("\"IMPLEMENTATION\" \"x\"\r\n\"SASL\" \"PLAIN\"\r\nOK\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
    EXPECT_NE(client.error_message().find("IMPLEMENTATION x / SASL PLAIN"), std::string::npos);
  }
  {
    SieveClient client;
    Feeder feed(client);
    feed(greeting);
    feed("NO \"not today\"\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
  }
  {
    SieveClient client;
    Feeder feed(client);
    feed(greeting);
    feed("OK \"go\"\r\n\"SASL\" \"PLAIN\"\r\n");
    EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
  }
}

TEST(SieveServer, RefusesAuthenticationBeforeTlsAndPipelinedCommands) {
  SieveServer server;
  Feeder feed(server);
  EXPECT_NE(server.take_output().find("\"STARTTLS\"\r\n"), std::string::npos);
  EXPECT_EQ(feed("AUTHENTICATE \"PLAIN\" \"AGJvYgBzZWNyZXQ=\"\r\n"),
            "NO (ENCRYPT-NEEDED) \"TLS is required: STARTTLS first\"\r\n");
  EXPECT_EQ(feed("STARTTLS\r\nLOGOUT\r\n"),
            "BYE \"command pipelined after STARTTLS; closing\"\r\n");
  EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
}

TEST(SieveOverTls, ClientAndServerUpgrade) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::sieve);
    EXPECT_TRUE(both.client.tls);
    EXPECT_EQ(both.client.capabilities.size(), 4u);
  });
}

}  // namespace
}  // namespace uptls::starttls
