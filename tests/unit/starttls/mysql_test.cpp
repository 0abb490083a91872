#include "starttls/mysql.hpp"

#include <gtest/gtest.h>

#include "unit/starttls/dialogue_support.hpp"

// MySQL and MariaDB's SSLRequest: the pure dialogues, the EAST cases, both
// halves over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;
using namespace std::string_literals;

/// A greeting from a server whose capabilities are flags.
std::string greeting(std::uint16_t flags) {
  std::string payload = "\x0a"s + "10.11.6-MariaDB" + '\0' + "\x01\x00\x00\x00"s + "abcdefgh" +
                        '\0' + static_cast<char>(flags & 0xff) + static_cast<char>(flags >> 8) +
                        "\x2d\x02\x00\x00\x00"s;
  return static_cast<char>(payload.size()) + "\x00\x00\x00"s + payload;
}

TEST(MysqlClient, SendsTheSslRequestAndUpgrades) {
  MysqlClient client;
  Feeder feed(client);
  std::string request = feed(greeting(0x0a00));
  EXPECT_EQ(client.next(), Next::start_tls);
  ASSERT_EQ(request.size(), 36u);
  EXPECT_EQ(request.substr(0, 4), "\x20\x00\x00\x01"s);
  EXPECT_TRUE(request[5] & 0x08);  // CLIENT_SSL
  EXPECT_EQ(client.learned().greeting, "10.11.6-MariaDB");
  // The packet as it came, scramble and all, for a relay to pass on.
  EXPECT_EQ(client.learned().raw_greeting, greeting(0x0a00));
}

TEST(MysqlClient, RefusesAServerWithoutSslAndBytesAfterTheGreeting) {
  {
    MysqlClient client;
    Feeder feed(client);
    feed(greeting(0x0200));
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
    EXPECT_NE(client.error_message().find("no CLIENT_SSL"), std::string::npos);
  }
  {
    MysqlClient client;
    Feeder feed(client);
    feed(greeting(0x0a00) + "\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00"s);
    EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
  }
  {
    MysqlClient client;
    Feeder feed(client);
    feed("\x16\x00\x00\x00\xff\x6a\x04Host is not allowed"s);
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
    EXPECT_NE(client.error_message().find("error 1130"), std::string::npos)
        << client.error_message();
  }
}

TEST(MysqlServer, TakesTheSslRequestAndFeedsTheHandshake) {
  MysqlServer server;
  Feeder feed(server);
  EXPECT_NE(server.take_output().find("8.0.0-uptls"), std::string::npos);
  std::string request =
      "\x20\x00\x00\x01\x00\x8a\x0a\x00"s + std::string(4, '\0') + '\x2d' + std::string(23, '\0');
  feed(request + "\x16\x03\x01"s);
  EXPECT_EQ(server.next(), Next::start_tls);
  EXPECT_TRUE(server.feeds_handshake());
  EXPECT_EQ(feed.pending(), "\x16\x03\x01"s);
}

TEST(MysqlServer, RefusesAPlaintextLogin) {
  MysqlServer server;
  Feeder feed(server);
  server.take_output();
  std::string login =
      "\x00\x8a\x02\x00"s + std::string(4, '\0') + '\x2d' + std::string(23, '\0') + "alice" + '\0';
  std::string answer = feed(static_cast<char>(login.size()) + "\x00\x00\x01"s + login);
  EXPECT_EQ(answer.substr(4, 3), "\xff\x57\x0c"s);  // ERR 3159
  EXPECT_EQ(server.error(), make_error_code(errc::starttls_unavailable));
}

TEST(MysqlOverTls, ClientAndServerUpgrade) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::mysql);
    EXPECT_TRUE(both.client.tls);
    EXPECT_EQ(both.client.greeting, "8.0.0-uptls");
  });
}

}  // namespace
}  // namespace uptls::starttls
