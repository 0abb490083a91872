#include "starttls/smtp.hpp"

#include <algorithm>
#include <string>

#include "ascii.hpp"
#include "starttls/command.hpp"

namespace uptls::starttls {

// ---- client ---------------------------------------------------------------

SmtpClient::SmtpClient(ClientDialogueOptions options, bool lmtp)
    : Dialogue(Role::client, options.max_line),
      options_(std::move(options)),
      lmtp_(lmtp),
      reader_(ReplyReader::Style::smtp, options_.max_reply_lines) {}

std::string_view SmtpClient::protocol() const noexcept { return lmtp_ ? "lmtp" : "smtp"; }

std::size_t SmtpClient::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  if (auto reply = take_reply(bytes, used, reader_)) on_reply(std::move(*reply));
  return used;
}

void SmtpClient::hello() { send((lmtp_ ? "LHLO " : "EHLO ") + options_.client_name + "\r\n"); }

void SmtpClient::on_reply(Reply reply) {
  std::string name(protocol());
  std::string verb = lmtp_ ? "LHLO" : "EHLO";
  std::vector<std::string> capabilities;
  if (!reply.lines.empty()) capabilities.assign(reply.lines.begin() + 1, reply.lines.end());
  switch (state_) {
    case State::greeting:
      if (reply.code != 220) {
        fail(errc::protocol_error, name + ": the server refused the session: " + reply.quoted);
        return;
      }
      for (const auto& line : reply.lines) {
        if (!learned_.greeting.empty()) learned_.greeting += "\n";
        learned_.greeting += line;
      }
      hello();
      state_ = State::hello;
      return;
    case State::hello: {
      if (reply.code != 250) {
        unavailable(options_.policy,
                    "the server refused " + verb + ", so it offers no STARTTLS: " + reply.quoted);
        return;
      }
      learned_.capabilities = capabilities;
      bool offered = false;
      for (const auto& capability : capabilities) {
        offered = offered || detail::iequals(detail::first_word(capability), "STARTTLS");
      }
      if (!offered) {
        unavailable(options_.policy, "the server did not offer STARTTLS (its " + verb +
                                         " reply: " + reply.quoted + ")");
        return;
      }
      send("STARTTLS\r\n");
      state_ = State::starttls;
      return;
    }
    case State::starttls:
      if (reply.code != 220) {
        unavailable(options_.policy, "the server refused STARTTLS: " + reply.quoted);
        return;
      }
      upgrade();
      return;
    case State::hello_tls:
      if (reply.code != 250) {
        fail(errc::protocol_error,
             name + ": the server refused " + verb + " over TLS: " + reply.quoted);
        return;
      }
      learned_.capabilities = capabilities;
      finish();
      return;
  }
}

void SmtpClient::on_tls() {
  // RFC 3207 §4.2: forget everything the server said in plaintext.
  learned_.capabilities.clear();
  hello();
  state_ = State::hello_tls;
}

// ---- server ---------------------------------------------------------------

// One table: what is refused before TLS (530, RFC 3207 §4) is what an
// opportunistic server leaves to the application.
const SmtpServer::Verb SmtpServer::verbs[] = {
    {"EHLO", &SmtpServer::hello},
    {"HELO", &SmtpServer::hello},
    {"LHLO", &SmtpServer::hello},
    {"STARTTLS", &SmtpServer::starttls},
    {"NOOP", &SmtpServer::ok},
    {"RSET", &SmtpServer::ok},
    {"QUIT", &SmtpServer::quit},
    {"VRFY", &SmtpServer::vrfy},
    {"HELP", &SmtpServer::help},
    {"MAIL"},
    {"RCPT"},
    {"DATA"},
    {"AUTH"},
    {"BDAT"},
    {"ETRN"},
};

SmtpServer::SmtpServer(ServerDialogueOptions options, bool lmtp)
    // options copied, not moved: the replies read its host name.
    : LineServer(options,
                 {"500 5.5.2 Error: line too long; closing\r\n",
                  "530 5.7.0 Must issue a STARTTLS command first\r\n",
                  "500 5.5.2 Error: command not recognized\r\n",
                  "421 4.7.0 " + options.host_name + " Error: too many errors; closing\r\n"},
                 verbs, Unlisted::unknown),
      lmtp_(lmtp) {
  std::string text = options_.greeting.empty() ? options_.host_name + (lmtp_ ? " LMTP" : " ESMTP")
                                               : options_.greeting;
  send("220 " + text + "\r\n");
}

std::string_view SmtpServer::protocol() const noexcept { return lmtp_ ? "lmtp" : "smtp"; }

void SmtpServer::hello(const Command& command) {
  bool lhlo = detail::iequals(command.verb, "LHLO");
  if (lhlo != lmtp_) {
    refuse(lmtp_ ? "500 5.5.1 Error: this is LMTP; say LHLO\r\n"
                 : "500 5.5.2 Error: command not recognized\r\n");
    return;
  }
  if (command.argument.empty()) {
    send("501 5.5.4 Syntax: " + std::string(command.verb) + " hostname\r\n");
    return;
  }
  learned_.greeting = std::string(command.argument);
  if (detail::iequals(command.verb, "HELO")) {
    send("250 " + options_.host_name + "\r\n");
    return;
  }
  // What the dialogue itself honours, the application's, then the upgrade.
  std::string reply = "250-" + options_.host_name + "\r\n250-PIPELINING\r\n";
  reply += "250-ENHANCEDSTATUSCODES\r\n";
  for (const std::string& capability : options_.capabilities) reply += "250-" + capability + "\r\n";
  send(reply + "250 STARTTLS\r\n");
}

void SmtpServer::starttls(const Command& command) {
  if (!command.argument.empty()) {
    send("501 5.5.4 Syntax: STARTTLS\r\n");
    return;
  }
  accept_starttls(command.rest, "220 2.0.0 Ready to start TLS\r\n",
                  "554 5.5.1 Error: command pipelined after STARTTLS; closing\r\n");
}

void SmtpServer::ok(const Command&) { send("250 2.0.0 OK\r\n"); }

void SmtpServer::quit(const Command&) {
  send("221 2.0.0 Bye\r\n");
  peer_left();
}

void SmtpServer::vrfy(const Command&) { send("252 2.0.0 Cannot VRFY user\r\n"); }

void SmtpServer::help(const Command&) {
  send("214 2.0.0 Commands: " + std::string(lmtp_ ? "LHLO" : "EHLO HELO") +
       " STARTTLS RSET NOOP QUIT\r\n");
}

// RFC 3207 §4.2: the client starts again with EHLO, for the application.
void SmtpServer::on_tls() {
  learned_.greeting.clear();
  finish();
}

}  // namespace uptls::starttls
