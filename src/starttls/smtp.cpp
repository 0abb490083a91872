#include "uptls/starttls/smtp.hpp"

#include <algorithm>

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

SmtpServer::SmtpServer(ServerDialogueOptions options, bool lmtp)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)), lmtp_(lmtp) {
  send("220 " + options_.host_name + (lmtp_ ? " LMTP" : " ESMTP") + " uptls\r\n");
}

std::string_view SmtpServer::protocol() const noexcept { return lmtp_ ? "lmtp" : "smtp"; }

std::size_t SmtpServer::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("500 5.5.2 Error: line too long; closing\r\n");
    return used;
  }
  if (in_data_) {
    data_line(*line);
    return used;
  }
  std::string_view command_line = *line;
  if (!learned_.tls && options_.policy == Policy::opportunistic && !options_.session &&
      needs_tls(command_line)) {
    // Plaintext was allowed: the application serves this command.
    finish();
    return 0;
  }
  command(command_line, bytes.substr(used));
  return used;
}

// One list for both policies: what a required server refuses before TLS is
// exactly what an opportunistic one hands to the application.
bool SmtpServer::needs_tls(std::string_view line) {
  return detail::verb_is_one_of(line, {"MAIL", "RCPT", "DATA", "AUTH", "BDAT", "ETRN"});
}

void SmtpServer::reset_transaction() {
  sender_.clear();
  recipients_ = 0;
  message_bytes_ = 0;
}

void SmtpServer::command(std::string_view line, std::string_view rest) {
  // Not a structured binding: clang 14 cannot capture one.
  auto [verb_part, argument] = detail::split_command(line);
  std::string_view verb = verb_part;
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  const std::string& host = options_.host_name;
  if (!learned_.tls && options_.policy == Policy::required && needs_tls(line)) {
    // RFC 3207 §4: 530 for commands refused before STARTTLS.
    send("530 5.7.0 Must issue a STARTTLS command first\r\n");
    return;
  }
  bool hello_verb = lmtp_ ? is("LHLO") : (is("EHLO") || is("HELO"));
  if (hello_verb) {
    if (argument.empty()) {
      send("501 5.5.4 Syntax: " + std::string(verb) + " hostname\r\n");
      return;
    }
    reset_transaction();
    greeted_ = true;
    learned_.greeting = std::string(argument);
    if (is("HELO")) {
      send("250 " + host + "\r\n");
      return;
    }
    send("250-" + host + "\r\n250-PIPELINING\r\n250-SIZE " + std::to_string(options_.max_message) +
         "\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n");
    send(learned_.tls ? "250 SMTPUTF8\r\n" : "250-SMTPUTF8\r\n250 STARTTLS\r\n");
    return;
  }
  if (is("EHLO") || is("HELO")) {
    send("500 5.5.1 Error: this is LMTP; say LHLO\r\n");
  } else if (is("STARTTLS")) {
    if (learned_.tls) {
      send("554 5.5.1 Error: TLS already active\r\n");
    } else if (!argument.empty()) {
      send("501 5.5.4 Syntax: STARTTLS\r\n");
    } else {
      accept_starttls(rest, "220 2.0.0 Ready to start TLS\r\n",
                      "554 5.5.1 Error: command pipelined after STARTTLS; closing\r\n");
    }
    return;
  } else if (is("NOOP")) {
    send("250 2.0.0 OK\r\n");
    return;
  } else if (is("RSET")) {
    reset_transaction();
    send("250 2.0.0 OK\r\n");
    return;
  } else if (is("QUIT")) {
    send("221 2.0.0 Bye\r\n");
    finish();
    return;
  } else if (is("VRFY")) {
    send("252 2.0.0 Cannot VRFY user\r\n");
    return;
  } else if (is("HELP")) {
    send("214 2.0.0 Commands: " + std::string(lmtp_ ? "LHLO" : "EHLO HELO") +
         " STARTTLS MAIL RCPT DATA RSET NOOP QUIT\r\n");
    return;
  } else if (is("MAIL") || is("RCPT") || is("DATA")) {
    if (!greeted_) {
      send("503 5.5.1 Error: send " + std::string(lmtp_ ? "LHLO" : "HELO/EHLO") + " first\r\n");
    } else if (is("MAIL")) {
      if (!sender_.empty()) {
        send("503 5.5.1 Error: nested MAIL command\r\n");
      } else if (!detail::istarts_with(argument, "FROM:")) {
        send("501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
      } else {
        // The path, without parameters such as SIZE=.
        std::string_view path = argument.substr(5);
        path.remove_prefix(std::min(path.find_first_not_of(' '), path.size()));
        sender_ = std::string(detail::first_word(path));
        if (sender_.empty()) sender_ = "<>";
        send("250 2.1.0 Ok\r\n");
      }
    } else if (is("RCPT")) {
      if (sender_.empty()) {
        send("503 5.5.1 Error: need MAIL command\r\n");
      } else if (!detail::istarts_with(argument, "TO:")) {
        send("501 5.5.4 Syntax: RCPT TO:<address>\r\n");
      } else if (recipients_ >= 100) {
        send("452 4.5.3 Error: too many recipients\r\n");
      } else {
        ++recipients_;
        send("250 2.1.5 Ok\r\n");
      }
    } else if (recipients_ == 0) {
      send("503 5.5.1 Error: need RCPT command\r\n");
    } else {
      in_data_ = true;
      send("354 End data with <CR><LF>.<CR><LF>\r\n");
    }
    return;
  } else {
    send("500 5.5.2 Error: command not recognized\r\n");
  }
  if (++errors_ > 20) {
    send("421 4.7.0 " + host + " Error: too many errors; closing\r\n");
    fail(errc::protocol_error, std::string(protocol()) + ": the client made too many errors");
  }
}

void SmtpServer::data_line(std::string_view line) {
  if (line != ".") {
    message_bytes_ += line.size() + 2;
    return;
  }
  in_data_ = false;
  ++messages_;
  std::string reply;
  if (message_bytes_ > options_.max_message) {
    reply = "552 5.3.4 Error: message too big\r\n";
  } else {
    reply = "250 2.0.0 Ok: message " + std::to_string(messages_) + " accepted and discarded\r\n";
    if (options_.log) {
      options_.log("mail from " + sender_ + " to " + std::to_string(recipients_) +
                   " recipient(s), " + std::to_string(message_bytes_) + " bytes, discarded");
    }
  }
  for (std::size_t i = 0; i < (lmtp_ ? recipients_ : 1); ++i) send(reply);
  reset_transaction();
}

void SmtpServer::on_tls() {
  // RFC 3207 §4.2: the client starts again with EHLO.
  reset_transaction();
  greeted_ = false;
  learned_.greeting.clear();
  if (!options_.session) finish();
}

void SmtpServer::on_end_of_input() {
  if (in_data_) {
    fail(errc::unexpected_eof,
         std::string(protocol()) +
             ": the client closed the connection in the middle of a message (not accepted)");
    return;
  }
  finish();
}

}  // namespace uptls::starttls
