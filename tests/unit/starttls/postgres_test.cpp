#include "starttls/postgres.hpp"

#include <gtest/gtest.h>

#include "unit/starttls/dialogue_support.hpp"

// PostgreSQL's SSLRequest: the pure dialogues, CVE-2021-23222 and
// CVE-2021-23214, direct TLS, both halves over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;
using namespace std::string_literals;

const std::string ssl_request = "\x00\x00\x00\x08\x04\xd2\x16\x2f"s;
const std::string startup = "\x00\x00\x00\x14\x00\x03\x00\x00"s + "user\0alice\0\0"s;

TEST(PostgresClient, SendsTheSslRequestAndUpgradesOnS) {
  PostgresClient client;
  Feeder feed(client);
  EXPECT_EQ(client.take_output(), ssl_request);
  feed("S");
  EXPECT_EQ(client.next(), Next::start_tls);
}

TEST(PostgresClient, RefusesBytesAfterTheS) {
  // CVE-2021-23222: a man in the middle answers S and appends a response.
  PostgresClient client;
  Feeder feed(client);
  feed("SR\x00\x00\x00\x08\x00\x00\x00\x00"s);
  EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
}

TEST(PostgresClient, RequiredPolicyRefusesN) {
  PostgresClient client;
  Feeder feed(client);
  feed("N");
  EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
  ClientDialogueOptions options;
  options.policy = Policy::opportunistic;
  PostgresClient opportunistic(options);
  Feeder feed2(opportunistic);
  feed2("N");
  EXPECT_EQ(opportunistic.next(), Next::done);
  EXPECT_FALSE(opportunistic.learned().tls);
}

TEST(PostgresServer, AnswersTheSslRequestAndRefusesWhatFollowsIt) {
  {
    PostgresServer server;
    Feeder feed(server);
    EXPECT_EQ(feed(ssl_request), "S");
    EXPECT_EQ(server.next(), Next::start_tls);
  }
  {
    // CVE-2021-23214: a startup message sent with the SSLRequest.
    PostgresServer server;
    Feeder feed(server);
    std::string answer = feed(ssl_request + startup);
    EXPECT_EQ(answer[0], 'E');
    EXPECT_NE(answer.find("received unencrypted data after SSL request"), std::string::npos);
    EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
  }
}

TEST(PostgresServer, RefusesAPlaintextStartup) {
  PostgresServer server;
  Feeder feed(server);
  std::string answer = feed(startup);
  EXPECT_NE(answer.find("28000"), std::string::npos);
  EXPECT_EQ(server.error(), make_error_code(errc::starttls_unavailable));
}

TEST(PostgresServer, TakesDirectTlsAsAHandshake) {
  PostgresServer server;
  Feeder feed(server);
  feed("\x16\x03\x01\x00\x05"s);
  EXPECT_EQ(server.next(), Next::start_tls);
  EXPECT_TRUE(server.feeds_handshake());
  EXPECT_EQ(feed.pending().size(), 5u);  // left for the handshake
}

TEST(PostgresOverTls, ClientAndServerUpgrade) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::postgres);
    EXPECT_TRUE(both.client.tls);
  });
}

}  // namespace
}  // namespace uptls::starttls
