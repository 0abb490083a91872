#include "uptls/starttls/dialogue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/steady_timer.hpp>

#include "support/support.hpp"
#include "unit/starttls/dialogue_support.hpp"
#include "uptls/starttls.hpp"

// The driver's deadlines: one per unit the peer sends (a command, a reply),
// never restarted by the reads inside it, and a message naming what was
// awaited.

namespace uptls::starttls {
namespace {

using asio::awaitable;

Timeouts idle_after(std::chrono::milliseconds idle) {
  Timeouts timeouts;
  timeouts.idle = idle;
  return timeouts;
}

// Slowloris: a client that sends a byte of its command at a time, each well
// within the idle timeout, is still closed once the command is not complete
// within it.
TEST(Run, TheIdleTimeoutCoversAWholeCommandNotEachRead) {
  test::run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto [server_socket, client_socket] = test::connected_pair(executor);
    Stream server(std::move(server_socket), test::pki().server);
    server.set_timeouts(idle_after(std::chrono::milliseconds(600)));
    std::error_code code;
    std::string message;
    bool server_done = false;
    asio::co_spawn(
        executor,
        [&]() -> awaitable<void> {
          auto failure = co_await test::caught(starttls::server(server, Protocol::smtp));
          code = failure.code;
          message = failure.message;
          server_done = true;
        },
        asio::detached);
    std::string command = "EHLO a-client-that-trickles-its-name-one-byte-at-a-time.example\r\n";
    asio::steady_timer pause(executor);
    std::size_t sent = 0;
    for (char c : command) {
      if (server_done) break;
      std::error_code ignored;
      asio::write(client_socket, asio::buffer(&c, 1), ignored);
      if (ignored) break;
      ++sent;
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::use_awaitable);
    }
    while (!server_done) {
      pause.expires_after(std::chrono::milliseconds(20));
      co_await pause.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(code, errc::idle_timeout) << message;
    EXPECT_LT(sent, command.size()) << "the trickling client was served to the end";
    EXPECT_NE(message.find("smtp: no complete command from the client within 600 ms"),
              std::string::npos)
        << message;
    EXPECT_TRUE(server.is_closed());
  });
}

TEST(Run, AClientSaysItWaitedForTheGreeting) {
  test::run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto [server_socket, client_socket] = test::connected_pair(executor);
    Stream client(std::move(client_socket), test::pki().client, "localhost");
    client.set_timeouts(idle_after(std::chrono::milliseconds(300)));
    auto failure = co_await test::caught(starttls::client(client, Protocol::smtp));
    EXPECT_EQ(failure.code, errc::idle_timeout) << failure.message;
    EXPECT_NE(failure.message.find("smtp: no greeting from the server within 300 ms"),
              std::string::npos)
        << failure.message;
    EXPECT_TRUE(client.is_closed());
  });
}

TEST(Run, AClientNamesTheCommandWhoseReplyNeverCame) {
  test::run([]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto [server_socket, client_socket] = test::connected_pair(executor);
    Stream client(std::move(client_socket), test::pki().client, "localhost");
    client.set_timeouts(idle_after(std::chrono::seconds(1)));
    co_await test::raw_write(server_socket, "220 mx.test ESMTP\r\n250-mx.test\r\n");
    auto failure = co_await test::caught(starttls::client(client, Protocol::smtp));
    EXPECT_EQ(failure.code, errc::idle_timeout) << failure.message;
    EXPECT_NE(failure.message.find("smtp: no reply to EHLO from the server within 1 s"),
              std::string::npos)
        << failure.message;
  });
}

// The message names the verb only: a command's arguments may be credentials.
TEST(Dialogue, AwaitingNamesTheVerbNeverItsArguments) {
  auto client = make_client(Protocol::imap, {});
  test::Feeder feed(*client);
  EXPECT_EQ(client->awaiting(), "greeting from the server");
  std::string sent = feed("* OK ready\r\n");
  EXPECT_NE(sent.find("CAPABILITY"), std::string::npos) << sent;
  EXPECT_EQ(client->awaiting(), "reply to CAPABILITY from the server");
  auto server = make_server(Protocol::imap, {});
  EXPECT_EQ(server->awaiting(), "complete command from the client");
}

}  // namespace
}  // namespace uptls::starttls

namespace uptls::starttls {
namespace {

// The line servers read one table of verbs each: every command a required
// server refuses as needing TLS is one an opportunistic server leaves
// unread for the application, and every other command it answers itself.
TEST(ServerDialogues, WhatARequiredServerRefusesIsWhatAnOpportunisticOneHandsOver) {
  struct Case {
    Protocol protocol;
    std::string hello;  // a command allowed before TLS
    std::string_view refusal;
    std::vector<std::string> need_tls;
    std::vector<std::string> allowed;  // answered by the dialogue itself
  };
  const std::vector<Case> cases = {
      {Protocol::smtp,
       "EHLO c",
       "530 ",
       {"MAIL FROM:<a@x>", "RCPT TO:<b@x>", "DATA", "AUTH PLAIN AGEAYg==", "BDAT 10", "ETRN x"},
       {"NOOP", "VRFY a", "HELP", "FOO"}},
      {Protocol::lmtp, "LHLO c", "530 ", {"MAIL FROM:<a@x>", "AUTH LOGIN"}, {"EHLO c", "RSET"}},
      {Protocol::pop3, "CAPA", "-ERR [AUTH]", {"USER a", "PASS b", "APOP a b", "AUTH"}, {"STAT"}},
      {Protocol::nntp, "CAPABILITIES", "483 ", {"AUTHINFO USER a", "GROUP x", "LIST"}, {}},
      {Protocol::ftp, "FEAT", "530 ", {"USER a", "PASS b", "LIST"}, {"SYST", "NOOP"}},
      {Protocol::imap,
       "a CAPABILITY",
       "b NO [PRIVACYREQUIRED]",
       {"b LOGIN a b", "b AUTHENTICATE PLAIN", "b login a b"},
       {"b NOOP", "b SELECT INBOX", "b FOO"}},
      {Protocol::sieve,
       "CAPABILITY",
       "NO (ENCRYPT-NEEDED)",
       {"AUTHENTICATE \"PLAIN\"", "authenticate \"PLAIN\""},
       {"NOOP", "HAVESPACE \"a\" 10", "FOO"}},
      {Protocol::irc,
       "CAP LS 302",
       "ERROR :TLS is required",
       {"NICK alice", "USER alice 0 * :Alice", "PASS secret", ":alice NICK alice"},
       {"PING x", "FOO"}},
  };
  for (const Case& c : cases) {
    std::vector<std::pair<std::string, bool>> commands;
    for (const std::string& command : c.need_tls) commands.emplace_back(command, true);
    for (const std::string& command : c.allowed) commands.emplace_back(command, false);
    for (const auto& [command, needs_tls] : commands) {
      std::unique_ptr<Dialogue> required = make_server(c.protocol, {});
      required->take_output();
      test::Feeder feed_required(*required);
      feed_required(c.hello + "\r\n");
      std::string reply = feed_required(command + "\r\n");
      bool refused = reply.starts_with(c.refusal);

      ServerDialogueOptions options;
      options.policy = Policy::opportunistic;
      std::unique_ptr<Dialogue> opportunistic = make_server(c.protocol, options);
      opportunistic->take_output();
      test::Feeder feed_opportunistic(*opportunistic);
      feed_opportunistic(c.hello + "\r\n");
      std::string answered = feed_opportunistic(command + "\r\n");
      bool handed_over = opportunistic->next() == Next::done &&
                         feed_opportunistic.pending() == command + "\r\n" && answered.empty();
      EXPECT_EQ(refused, needs_tls) << info(c.protocol).name << " " << command << ": " << reply;
      EXPECT_EQ(handed_over, needs_tls)
          << info(c.protocol).name << " " << command << ": opportunistic said " << answered;
    }
  }
}

}  // namespace
}  // namespace uptls::starttls

namespace uptls::starttls {
namespace {

// The capability clients share one shape: the greeting, the capabilities,
// the upgrade verb, its go-ahead, and the capabilities asked again over TLS.
// What the server listed in plaintext (here an "EVIL" an attacker added) is
// never what the client learned.
TEST(CapabilityClients, EachAsksAgainOverTlsAndKeepsOnlyWhatItLearnedThere) {
  struct Case {
    Protocol protocol;
    std::vector<std::pair<std::string, std::string>> plaintext;  // server says, client answers
    std::string asked_again;
    std::string over_tls;
    std::vector<std::string> learned;
  };
  const std::vector<Case> cases = {
      {Protocol::smtp,
       {{"220 mx\r\n", "EHLO "}, {"250-mx\r\n250-EVIL\r\n250 STARTTLS\r\n", "STARTTLS\r\n"}},
       "EHLO localhost\r\n",
       "250-mx\r\n250 SIZE 10\r\n",
       {"SIZE 10"}},
      {Protocol::lmtp,
       {{"220 mx\r\n", "LHLO "}, {"250-mx\r\n250-EVIL\r\n250 STARTTLS\r\n", "STARTTLS\r\n"}},
       "LHLO localhost\r\n",
       "250-mx\r\n250 PIPELINING\r\n",
       {"PIPELINING"}},
      {Protocol::pop3,
       {{"+OK hi\r\n", "CAPA\r\n"}, {"+OK\r\nEVIL\r\nSTLS\r\n.\r\n", "STLS\r\n"}},
       "CAPA\r\n",
       "+OK\r\nTOP\r\n.\r\n",
       {"TOP"}},
      {Protocol::nntp,
       {{"200 hi\r\n", "CAPABILITIES\r\n"},
        {"101 caps\r\nEVIL\r\nSTARTTLS\r\n.\r\n", "STARTTLS\r\n"}},
       "CAPABILITIES\r\n",
       "101 caps\r\nREADER\r\n.\r\n",
       {"READER"}},
      {Protocol::imap,
       {{"* OK hi\r\n", "A001 CAPABILITY\r\n"},
        {"* CAPABILITY IMAP4rev1 EVIL STARTTLS\r\nA001 OK\r\n", "A002 STARTTLS\r\n"}},
       "A003 CAPABILITY\r\n",
       "* CAPABILITY IMAP4rev1\r\nA003 OK\r\n",
       {"IMAP4rev1"}},
      {Protocol::sieve,
       {{"\"IMPLEMENTATION\" \"x\"\r\n\"EVIL\"\r\n\"STARTTLS\"\r\nOK\r\n", "STARTTLS\r\n"}},
       "",
       "\"IMPLEMENTATION\" \"x\"\r\nOK\r\n",
       {"IMPLEMENTATION x"}},
  };
  for (const Case& c : cases) {
    std::string name(info(c.protocol).name);
    std::unique_ptr<Dialogue> client = make_client(c.protocol, {});
    test::Feeder feed(*client);
    for (const auto& [says, answer] : c.plaintext) {
      EXPECT_TRUE(feed(says).starts_with(answer)) << name << " after " << says;
    }
    std::string go_ahead = c.protocol == Protocol::sieve  ? "OK\r\n"
                           : c.protocol == Protocol::imap ? "A002 OK\r\n"
                           : c.protocol == Protocol::nntp ? "382 go\r\n"
                           : c.protocol == Protocol::pop3 ? "+OK go\r\n"
                                                          : "220 go\r\n";
    feed(go_ahead);
    EXPECT_EQ(client->next(), Next::start_tls) << name << ": " << client->error_message();
    EXPECT_EQ(std::ranges::count(client->learned().capabilities, "EVIL"), 1) << name;
    client->tls_started();
    EXPECT_EQ(client->take_output(), c.asked_again) << name;
    feed(c.over_tls);
    EXPECT_EQ(client->next(), Next::done) << name << ": " << client->error_message();
    EXPECT_EQ(client->learned().capabilities, c.learned) << name;
    EXPECT_TRUE(client->learned().tls) << name;
  }
}

}  // namespace
}  // namespace uptls::starttls
