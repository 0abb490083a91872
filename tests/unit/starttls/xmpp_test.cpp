#include "starttls/xmpp.hpp"

#include <gtest/gtest.h>

#include "unit/starttls/dialogue_support.hpp"

// XMPP (RFC 6120 §5): streams, features, starttls and proceed, the EAST
// cases, both halves over TLS.

namespace uptls::starttls {
namespace {

using test::Feeder;

constexpr std::string_view header =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='1' from='example.org' version='1.0'>";
constexpr std::string_view features =
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
    "</mechanisms></stream:features>";
constexpr std::string_view proceed = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

TEST(XmppClient, UpgradesAndRestartsTheStream) {
  ClientDialogueOptions options;
  options.server_name = "example.org";
  XmppClient client(options);
  Feeder feed(client);
  EXPECT_NE(client.take_output().find("to='example.org'"), std::string::npos);
  std::string output;
  for (char c : std::string(header) + std::string(features)) output += feed(std::string(1, c));
  EXPECT_EQ(output, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  EXPECT_EQ(client.learned().capabilities,
            (std::vector<std::string>{"starttls", "mechanisms PLAIN"}));
  feed(proceed);
  EXPECT_EQ(client.next(), Next::start_tls);
  client.tls_started();
  EXPECT_TRUE(client.learned().capabilities.empty());
  EXPECT_NE(client.take_output().find("<stream:stream"), std::string::npos);
  feed(std::string(header) +
       "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
       "<mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>"
       "</stream:features>");
  EXPECT_EQ(client.next(), Next::done);
  EXPECT_EQ(client.learned().capabilities,
            std::vector<std::string>{"mechanisms SCRAM-SHA-1 PLAIN"});
  EXPECT_EQ(client.learned().greeting, "stream from example.org");
}

TEST(XmppClient, RefusesInjectionStrippingAndFailure) {
  {
    XmppClient client;
    Feeder feed(client);
    feed(std::string(header) + std::string(features));
    feed(std::string(proceed) + "<stream:features/>");
    EXPECT_EQ(client.error(), make_error_code(errc::injected_plaintext));
  }
  {
    XmppClient client;
    Feeder feed(client);
    feed(std::string(header) +
         "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
         "</stream:features>");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
  }
  {
    XmppClient client;
    Feeder feed(client);
    feed(std::string(header) + std::string(features));
    feed("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    EXPECT_EQ(client.error(), make_error_code(errc::starttls_unavailable));
  }
  {
    XmppClient client;
    Feeder feed(client);
    feed("<!DOCTYPE x>");
    EXPECT_EQ(client.error(), make_error_code(errc::protocol_error));
  }
}

TEST(XmppServer, RefusesStanzasBeforeTlsAndPipelinedOnes) {
  {
    XmppServer server;
    Feeder feed(server);
    std::string answer = feed(
        "<stream:stream to='localhost' version='1.0' xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams'>");
    EXPECT_NE(answer.find("<required/>"), std::string::npos);
    answer = feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>x</auth>");
    EXPECT_NE(answer.find("policy-violation"), std::string::npos);
    EXPECT_EQ(server.next(), Next::failed);
  }
  {
    XmppServer server;
    Feeder feed(server);
    feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    std::string answer = feed("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><iq/>");
    EXPECT_EQ(answer, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>");
    EXPECT_EQ(server.error(), make_error_code(errc::injected_plaintext));
  }
}

TEST(XmppOverTls, ClientAndServerUpgrade) {
  test::run([]() -> asio::awaitable<void> {
    auto both = co_await test::converse(Protocol::xmpp);
    EXPECT_TRUE(both.client.tls);
    EXPECT_EQ(both.client.capabilities, std::vector<std::string>{"mechanisms PLAIN"});
    auto s2s = co_await test::converse(Protocol::xmpp_server);
    EXPECT_EQ(s2s.client.capabilities, std::vector<std::string>{"dialback"});
  });
}

}  // namespace
}  // namespace uptls::starttls
