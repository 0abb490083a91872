#include "starttls/ldap.hpp"

#include <gtest/gtest.h>

#include "unit/starttls/dialogue_support.hpp"

// LDAP StartTLS (RFC 4511 §4.14): BER byte by byte, the EAST cases, both
// halves over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;
using namespace std::string_literals;

const std::string request = "\x30\x1d\x02\x01\x01\x77\x18\x80\x16"s + "1.3.6.1.4.1.1466.20037";
const std::string success =
    "\x30\x24\x02\x01\x01\x78\x1f\x0a\x01\x00\x04\x00\x04\x00\x8a\x16"s + "1.3.6.1.4.1.1466.20037";

TEST(LdapClient, SendsTheExtendedRequestAndUpgradesOnSuccess) {
  LdapClient client;
  Feeder feed(client);
  EXPECT_EQ(client.take_output(), request);
  std::string output;
  for (char c : success) output += feed(std::string(1, c));
  EXPECT_EQ(output, "");
  EXPECT_EQ(client.next(), Next::start_tls);
  // The client spoke first: the server sent no greeting.
  EXPECT_EQ(client.learned().raw_greeting, "");
  client.tls_started();
  std::string search = client.take_output();
  EXPECT_EQ(search.substr(0, 1), "\x30");
  EXPECT_NE(search.find("supportedExtension"), std::string::npos);
}

TEST(LdapClient, QuotesARefusal) {
  LdapClient client;
  Feeder feed(client);
  client.take_output();
  feed("\x30\x2a\x02\x01\x01\x78\x25\x0a\x01\x02\x04\x00\x04\x1e"s +
       "unsupported extended operation");
  EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
  EXPECT_NE(client.error_message().find("protocolError (\"unsupported extended operation\")"),
            std::string::npos)
      << client.error_message();
}

TEST(LdapClient, RefusesBytesAfterTheSuccess) {
  LdapClient client;
  Feeder feed(client);
  client.take_output();
  feed(success + "\x30\x03\x02\x01\x02"s);
  EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
}

TEST(LdapClient, RefusesWhatIsNotLdap) {
  LdapClient client;
  Feeder feed(client);
  feed("220 smtp.example.org ESMTP\r\n");
  EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
  EXPECT_NE(client.error_message().find("220 smtp"), std::string::npos) << client.error_message();
}

TEST(LdapServer, RefusesBindsBeforeTlsAndPipelinedRequests) {
  LdapServer server;
  Feeder feed(server);
  // A simple bind as cn=admin with a password: confidentialityRequired (13).
  std::string bind =
      "\x30\x18\x02\x01\x01\x60\x13\x02\x01\x03\x04\x08"s + "cn=admin" + "\x80\x04"s + "pass";
  std::string refused = feed(bind);
  EXPECT_EQ(refused.substr(5, 5), "\x61\x26\x0a\x01\x0d"s);
  EXPECT_NE(refused.find("StartTLS first"), std::string::npos);
  // An anonymous bind is allowed.
  std::string anonymous = "\x30\x0c\x02\x01\x02\x60\x07\x02\x01\x03\x04\x00\x80\x00"s;
  EXPECT_EQ(feed(anonymous).substr(5, 5), "\x61\x07\x0a\x01\x00"s);
  std::string answer = feed(request + bind);
  EXPECT_NE(answer.find("pipelined after StartTLS"), std::string::npos);
  EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
}

TEST(LdapServer, AnswersStartTls) {
  LdapServer server;
  Feeder feed(server);
  EXPECT_EQ(feed(request), success);
  EXPECT_EQ(server.next(), Next::start_tls);
}

TEST(LdapOverTls, ClientAndServerUpgradeAndReadTheRootDse) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::ldap);
    EXPECT_TRUE(both.client.tls);
    EXPECT_EQ(both.client.capabilities,
              (std::vector<std::string>{"supportedLDAPVersion: 3", "vendorName: uptls"}));
  });
}

}  // namespace
}  // namespace uptls::starttls
