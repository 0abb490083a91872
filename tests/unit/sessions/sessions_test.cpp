#include "sessions/sessions.hpp"

#include <gtest/gtest.h>

#include "sessions/ftp.hpp"
#include "sessions/mailbox.hpp"
#include "unit/starttls/dialogue_support.hpp"

// The demo sessions of `uptls serve` (tools/uptls/sessions/): what each
// serves once its protocol's dialogue has handed the upgraded stream over.

namespace uptls::starttls {
namespace {

using test::Feeder;
using namespace std::string_literals;

// The session's data requests, fed by hand: serve_ftp() opens the
// connections (FtpOverTcp in tests/unit/starttls/ftp_test.cpp).
TEST(FtpSession, ServesTheControlConnectionAndCcc) {
  Learned handed_over;
  handed_over.tls = true;
  sessions::FtpSession session(handed_over, {});
  Feeder server(session);
  EXPECT_EQ(server("PROT P\r\n"), "503 PBSZ first\r\n");
  EXPECT_EQ(server("PBSZ 0\r\nPROT P\r\n"), "200 PBSZ=0\r\n200 PROT now Private\r\n");
  EXPECT_EQ(server("USER alice\r\nPASS secret\r\n"), "331 password, please\r\n230 logged in\r\n");
  EXPECT_EQ(server("SIZE /hello.txt\r\n").substr(0, 4), "213 ");
  EXPECT_EQ(server("RETR hello.txt\r\n"), "425 use PASV or EPSV first\r\n");
  EXPECT_EQ(server("PASV\r\n"), "");
  ASSERT_EQ(session.next(), Next::done);
  ASSERT_TRUE(session.data_request());
  EXPECT_EQ(session.data_request()->kind, sessions::DataRequest::listen);
  session.passive_opened(2121, "127.0.0.1");
  EXPECT_EQ(session.take_output(), "227 Entering Passive Mode (127,0,0,1,8,73)\r\n");
  EXPECT_EQ(server("RETR hello.txt\r\n").substr(0, 4), "150 ");
  ASSERT_EQ(session.next(), Next::done);
  ASSERT_TRUE(session.data_request());
  EXPECT_EQ(session.data_request()->kind, sessions::DataRequest::send);
  EXPECT_TRUE(session.data_request()->protect);
  session.transfer_done(true, 210, "");
  EXPECT_FALSE(session.data_request());
  EXPECT_EQ(session.take_output(), "226 Transfer complete (210 bytes)\r\n");
  EXPECT_EQ(server("EPSV\r\n"), "");
  session.passive_opened(2121, "127.0.0.1");
  EXPECT_EQ(session.take_output(), "229 Entering Extended Passive Mode (|||2121|)\r\n");
  EXPECT_EQ(server("PROT C\r\nSTOR x\r\n"),
            "200 PROT now Clear\r\n522 data connections must be protected: PROT P first\r\n");
  EXPECT_EQ(server("CCC\r\n").substr(0, 4), "200 ");
  EXPECT_EQ(session.next(), Next::stop_tls);
  session.tls_stopped();
  EXPECT_EQ(server("PWD\r\n"), "257 \"/\" is the current directory\r\n");
  EXPECT_EQ(server("CCC\r\n"), "533 CCC needs TLS\r\n");
  EXPECT_EQ(server("QUIT\r\n"), "221 Goodbye\r\n");
}

// Before login a command needs no megabytes: an unauthenticated client
// cannot make the server hold a 10 MiB literal for it.
TEST(ImapSession, RefusesALargeLiteralBeforeLogin) {
  ServerDialogueOptions options;
  options.policy = Policy::opportunistic;
  test::ServerFeeder server(Protocol::imap, options);
  EXPECT_EQ(server("a LOGIN {10}\r\n"), "+ Ready for literal data\r\n");
  EXPECT_EQ(server("alice\r\n"), "");
  EXPECT_EQ(server->next(), Next::receive);

  test::ServerFeeder other(Protocol::imap, options);
  EXPECT_EQ(other("a LOGIN {100000}\r\n"), "* BYE command too large\r\n");
  EXPECT_TRUE(other.in_session());
  EXPECT_EQ(other->next(), Next::failed);
  EXPECT_EQ(other->error(), make_error_code(errc::line_too_long));
  EXPECT_NE(other->error_message().find("65536 bytes before logging in"), std::string::npos)
      << other->error_message();
}

TEST(ImapSession, ServesTheOneMessageMailbox) {
  test::ServerFeeder server(Protocol::imap);
  EXPECT_EQ(server("a STARTTLS\r\n"), "a OK Begin TLS negotiation now\r\n");
  server.tls_started();
  std::string capabilities = server("b CAPABILITY\r\n");
  EXPECT_EQ(capabilities.find("STARTTLS"), std::string::npos) << capabilities;
  EXPECT_EQ(server("c LOGIN {5}\r\n"), "+ Ready for literal data\r\n");
  EXPECT_EQ(server("alice \"se\\\"cret\"\r\n").substr(0, 5), "c OK ");
  EXPECT_EQ(server("c2 AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(server("AGJvYgBzZWNyZXQ=\r\n").substr(0, 6), "c2 OK ");  // "\0bob\0secret"
  EXPECT_NE(server("d SELECT INBOX\r\n").find("* 1 EXISTS\r\n"), std::string::npos);
  std::string fetched = server("e UID FETCH 1:* (UID BODY.PEEK[])\r\n");
  std::string message(sessions::sample_message);
  EXPECT_EQ(fetched, "* 1 FETCH (UID 1 BODY[] {" + std::to_string(message.size()) + "}\r\n" +
                         message + ")\r\ne OK UID FETCH completed\r\n");
  EXPECT_EQ(server("f LOGOUT\r\n"), "* BYE localhost logging out\r\nf OK LOGOUT completed\r\n");
  EXPECT_EQ(server->next(), Next::done);
}

TEST(IrcSession, RegistersAfterTls) {
  test::ServerFeeder server(Protocol::irc);
  EXPECT_EQ(server("STARTTLS\r\n"),
            ":localhost 670 * :STARTTLS successful, go ahead with TLS handshake\r\n");
  server.tls_started();
  std::string welcome = server("NICK alice\r\nUSER a 0 * :Alice\r\n");
  EXPECT_NE(welcome.find(":localhost 001 alice :Welcome"), std::string::npos);
  EXPECT_EQ(server("PING :x\r\n"), ":localhost PONG localhost :x\r\n");
  EXPECT_EQ(server("QUIT\r\n"), "ERROR :Closing link (quit)\r\n");
  EXPECT_EQ(server->next(), Next::done);
}

TEST(NntpSession, ServesOneArticle) {
  test::ServerFeeder server(Protocol::nntp);
  EXPECT_EQ(server("STARTTLS\r\n"), "382 Continue with TLS negotiation\r\n");
  server.tls_started();
  EXPECT_EQ(server("GROUP uptls.test\r\n"), "211 1 1 1 uptls.test\r\n");
  std::string article = server("ARTICLE 1\r\n");
  EXPECT_EQ(article.substr(0, 4), "220 ");
  EXPECT_NE(article.find("Subject: Hello from uptls\r\n"), std::string::npos);
  EXPECT_EQ(server("ARTICLE 2\r\n"), "423 no article with that number\r\n");
  // RFC 3977 §7.1: the current UTC time, not a fixed one.
  auto now = [] {
    std::time_t t = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&t, &utc);
    char text[16];
    std::strftime(text, sizeof text, "%Y%m%d%H%M", &utc);
    return std::string(text);
  };
  std::string before = now();
  std::string date = server("DATE\r\n");
  std::string after = now();
  ASSERT_EQ(date.size(), 20u) << date;
  EXPECT_EQ(date.substr(0, 4), "111 ");
  std::string minute = date.substr(4, 12);
  EXPECT_TRUE(minute == before || minute == after) << date << " at " << before;
  EXPECT_EQ(server("POST\r\n").substr(0, 4), "340 ");
  EXPECT_EQ(server("Subject: x\r\n\r\n..hi\r\n.\r\n"), "240 article received (discarded)\r\n");
  EXPECT_EQ(server("QUIT\r\n"), "205 closing connection\r\n");
  EXPECT_EQ(server->next(), Next::done);
}

TEST(Pop3Session, ServesOneMessage) {
  test::ServerFeeder server(Protocol::pop3);
  server("STLS\r\n");
  server.tls_started();
  EXPECT_EQ(server("CAPA\r\n").find("STLS"), std::string::npos);
  server("USER alice\r\n");
  EXPECT_EQ(server("PASS secret\r\n"), "+OK maildrop has 1 message\r\n");
  std::string retrieved = server("RETR 1\r\n");
  EXPECT_NE(retrieved.find("Subject: Hello from uptls\r\n"), std::string::npos);
  EXPECT_EQ(retrieved.substr(retrieved.size() - 5), "\r\n.\r\n");
  EXPECT_EQ(server("RETR 2\r\n"), "-ERR no such message\r\n");
  EXPECT_EQ(server("QUIT\r\n"), "+OK localhost signing off\r\n");
  EXPECT_EQ(server->next(), Next::done);
}

TEST(PostgresSession, AnswersSelectOne) {
  test::ServerFeeder server(Protocol::postgres);
  server("\x00\x00\x00\x08\x04\xd2\x16\x2f"s);  // SSLRequest
  server.tls_started();
  std::string welcome = server("\x00\x00\x00\x14\x00\x03\x00\x00"s + "user\0alice\0\0"s);
  EXPECT_EQ(welcome.substr(0, 9), "R\x00\x00\x00\x08\x00\x00\x00\x00"s);
  EXPECT_EQ(welcome.substr(welcome.size() - 6), "Z\x00\x00\x00\x05I"s);
  std::string rows = server("Q\x00\x00\x00\x0dSELECT 1\0"s);
  EXPECT_NE(rows.find("D\x00\x00\x00\x0b\x00\x01\x00\x00\x00\x01"
                      "1"s),
            std::string::npos);
  EXPECT_NE(rows.find("SELECT 1\0"s), std::string::npos);
  server("X\x00\x00\x00\x04"s);
  EXPECT_EQ(server->next(), Next::done);
}

TEST(SieveSession, ServesOneScript) {
  ServerDialogueOptions options;
  options.capabilities = sessions::capabilities_before_tls(Protocol::sieve, {});
  test::ServerFeeder server(Protocol::sieve, options);
  EXPECT_NE(server.greeting().find("\"SASL\" \"\"\r\n"), std::string::npos) << server.greeting();
  server("STARTTLS\r\n");
  std::string again = server.tls_started();
  EXPECT_EQ(again.find("STARTTLS"), std::string::npos);
  EXPECT_NE(again.find("\"SASL\" \"PLAIN\""), std::string::npos);
  EXPECT_EQ(server("AUTHENTICATE \"PLAIN\" {16+}\r\nAGJvYgBzZWNyZXQ=\r\n"),
            "OK \"Authenticated\"\r\n");
  EXPECT_EQ(server("LISTSCRIPTS\r\n"), "\"uptls\" ACTIVE\r\nOK \"Listscripts completed\"\r\n");
  EXPECT_EQ(server("PUTSCRIPT \"mine\" {6+}\r\nkeep;\n\r\n"),
            "OK \"PUTSCRIPT completed (the script was discarded)\"\r\n");
  EXPECT_EQ(server("LOGOUT\r\n"), "OK \"Logout completed\"\r\n");
  EXPECT_EQ(server->next(), Next::done);
}

TEST(SmtpSession, ServesMailAfterTls) {
  std::vector<std::string> log;
  sessions::Options session;
  session.log = [&log](std::string_view line) { log.emplace_back(line); };
  test::ServerFeeder server(Protocol::smtp, {}, session);
  server("EHLO c\r\n");
  server("STARTTLS\r\n");
  server.tls_started();
  ASSERT_TRUE(server.in_session());
  EXPECT_EQ(server->next(), Next::receive);
  std::string hello = server("EHLO c\r\n");
  EXPECT_EQ(hello.find("STARTTLS"), std::string::npos) << hello;
  EXPECT_EQ(server("STARTTLS\r\n"), "554 5.5.1 Error: TLS already active\r\n");
  EXPECT_EQ(server("RCPT TO:<b@example>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(server("MAIL FROM:<a@example>\r\nRCPT TO:<b@example>\r\nDATA\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(server("Subject: hi\r\n\r\n..dot\r\n.\r\n"),
            "250 2.0.0 Ok: message 1 accepted and discarded\r\n");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("<a@example> to 1 recipient"), std::string::npos) << log[0];
  EXPECT_EQ(server("QUIT\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_EQ(server->next(), Next::done);
}

// Under Policy::opportunistic the dialogue leaves MAIL unread, and the
// session serves it in plaintext.
TEST(LmtpSession, AnswersEachRecipientAfterData) {
  ServerDialogueOptions options;
  options.policy = Policy::opportunistic;
  test::ServerFeeder server(Protocol::lmtp, options);
  EXPECT_EQ(server("EHLO c\r\n"), "500 5.5.1 Error: this is LMTP; say LHLO\r\n");
  server("LHLO c\r\n");
  EXPECT_EQ(
      server("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nDATA\r\n"),
      "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_TRUE(server.in_session());
  EXPECT_FALSE(server->learned().tls);
  std::string replies = server("hello\r\n.\r\n");
  EXPECT_EQ(replies,
            "250 2.0.0 Ok: message 1 accepted and discarded\r\n"
            "250 2.0.0 Ok: message 1 accepted and discarded\r\n");
}

// The SASL user is the client's to choose: reflected into <jid>, it must stay
// character data, never markup.
TEST(XmppSession, EscapesTheUserItReflectsIntoTheJid) {
  test::ServerFeeder server(Protocol::xmpp);
  std::string open =
      "<stream:stream to='localhost' version='1.0' xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams'>";
  server(open);
  server("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  ASSERT_EQ(server->next(), Next::start_tls);
  server.tls_started();
  server(open);
  // base64 of "\0a</jid><evil/>&'\0pw"
  std::string answer = server(
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
      "AGE8L2ppZD48ZXZpbC8+JicAcHc=</auth>");
  EXPECT_NE(answer.find("<success"), std::string::npos) << answer;
  server(open);
  answer = server(
      "<iq type='set' id=\"b'1\"><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<resource>r</resource></bind></iq>");
  EXPECT_NE(answer.find("<jid>a&lt;/jid&gt;&lt;evil/&gt;&amp;&apos;@localhost/r</jid>"),
            std::string::npos)
      << answer;
  EXPECT_NE(answer.find("id='b&apos;1'"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("<evil/>"), std::string::npos) << answer;
}

}  // namespace
}  // namespace uptls::starttls
