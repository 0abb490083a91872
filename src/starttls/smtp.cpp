#include "starttls/smtp.hpp"

#include <algorithm>
#include <string>

#include "ascii.hpp"
#include "starttls/command.hpp"

namespace uptls::starttls {

// ---- client ---------------------------------------------------------------

namespace {

constexpr CapabilityClient::Words smtp_words{"smtp", "EHLO", "STARTTLS", "STARTTLS"};
constexpr CapabilityClient::Words lmtp_words{"lmtp", "LHLO", "STARTTLS", "STARTTLS"};

}  // namespace

SmtpClient::SmtpClient(ClientDialogueOptions options, bool lmtp)
    : CapabilityClient(lmtp ? lmtp_words : smtp_words, std::move(options)),
      reader_(ReplyReader::Style::smtp, options_.max_reply_lines) {}

// EHLO and LHLO name the client; STARTTLS is a verb alone.
void SmtpClient::command(std::string_view verb) {
  send(std::string(verb) + (verb == "STARTTLS" ? "" : " " + options_.client_name) + "\r\n");
}

std::optional<CapabilityClient::Response> SmtpClient::read(std::string_view bytes,
                                                           std::size_t& used) {
  auto reply = take_reply(bytes, used, reader_);
  if (!reply) return std::nullopt;
  Response response{false, {}, {}, reply->quoted};
  if (waiting_for() == Awaiting::capabilities) {
    response.positive = reply->code == 250;
    if (!reply->lines.empty()) {
      response.capabilities.assign(reply->lines.begin() + 1, reply->lines.end());
    }
    return response;
  }
  response.positive = reply->code == 220;
  if (waiting_for() == Awaiting::greeting) {
    for (const auto& line : reply->lines) {
      if (!response.text.empty()) response.text += "\n";
      response.text += line;
    }
  }
  return response;
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
