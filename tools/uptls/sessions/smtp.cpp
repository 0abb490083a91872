// SMTP and LMTP after STARTTLS: mail accepted and discarded until QUIT.

#include <algorithm>
#include <string>

#include "ascii.hpp"
#include "sessions/session.hpp"
#include "starttls/command.hpp"

namespace uptls::sessions {
namespace {

class SmtpSession final : public Session {
 public:
  SmtpSession(const starttls::Learned& handed_over, Options options, bool lmtp)
      : Session(handed_over, std::move(options)),
        lmtp_(lmtp),
        greeted_(!handed_over.greeting.empty()) {}
  std::string_view protocol() const noexcept override { return lmtp_ ? "lmtp" : "smtp"; }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override;
  void command(std::string_view line);
  void hello(std::string_view verb, std::string_view argument);
  void transaction(std::string_view verb, std::string_view argument);
  void data_line(std::string_view line);
  void reset_transaction();

  bool lmtp_;
  bool greeted_;
  bool in_data_ = false;
  std::string sender_;
  std::size_t recipients_ = 0;
  std::size_t message_bytes_ = 0;
  std::size_t messages_ = 0;
  std::size_t errors_ = 0;
};

std::size_t SmtpSession::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == starttls::Next::failed) send("500 5.5.2 Error: line too long; closing\r\n");
  } else if (in_data_) {
    data_line(*line);
  } else {
    command(*line);
  }
  return used;
}

void SmtpSession::reset_transaction() {
  sender_.clear();
  recipients_ = 0;
  message_bytes_ = 0;
}

void SmtpSession::command(std::string_view line) {
  auto [verb, argument] = detail::split_command(line);
  auto is = [verb = verb](std::string_view name) { return detail::iequals(verb, name); };
  if (lmtp_ ? is("LHLO") : (is("EHLO") || is("HELO"))) {
    hello(verb, argument);
    return;
  }
  if (is("MAIL") || is("RCPT") || is("DATA")) {
    transaction(verb, argument);
    return;
  }
  if (is("STARTTLS")) {
    send(learned_.tls ? "554 5.5.1 Error: TLS already active\r\n"
                      : "454 4.7.0 TLS not available: this session went on in plaintext\r\n");
    return;
  }
  if (is("NOOP") || is("RSET")) {
    if (is("RSET")) reset_transaction();
    send("250 2.0.0 OK\r\n");
    return;
  }
  if (is("QUIT")) {
    send("221 2.0.0 Bye\r\n");
    finish();
    return;
  }
  if (is("VRFY")) {
    send("252 2.0.0 Cannot VRFY user\r\n");
    return;
  }
  if (is("HELP")) {
    send("214 2.0.0 Commands: " + std::string(lmtp_ ? "LHLO" : "EHLO HELO") +
         " MAIL RCPT DATA RSET NOOP QUIT\r\n");
    return;
  }
  send(is("EHLO") || is("HELO") ? "500 5.5.1 Error: this is LMTP; say LHLO\r\n"
                                : "500 5.5.2 Error: command not recognized\r\n");
  if (++errors_ > 20) {
    send("421 4.7.0 " + options_.host_name + " Error: too many errors; closing\r\n");
    fail(errc::protocol_error, std::string(protocol()) + ": the client made too many errors");
  }
}

void SmtpSession::hello(std::string_view verb, std::string_view argument) {
  if (argument.empty()) {
    send("501 5.5.4 Syntax: " + std::string(verb) + " hostname\r\n");
    return;
  }
  reset_transaction();
  greeted_ = true;
  if (detail::iequals(verb, "HELO")) {
    send("250 " + options_.host_name + "\r\n");
    return;
  }
  std::string reply = "250-" + options_.host_name + "\r\n";
  for (const std::string& capability : capabilities_before_tls(
           lmtp_ ? starttls::Protocol::lmtp : starttls::Protocol::smtp, options_)) {
    reply += "250-" + capability + "\r\n";
  }
  send(reply + "250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n");
}

void SmtpSession::transaction(std::string_view verb, std::string_view argument) {
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
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
}

void SmtpSession::data_line(std::string_view line) {
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
    log("mail from " + sender_ + " to " + std::to_string(recipients_) + " recipient(s), " +
        std::to_string(message_bytes_) + " bytes, discarded");
  }
  for (std::size_t i = 0; i < (lmtp_ ? recipients_ : 1); ++i) send(reply);
  reset_transaction();
}

void SmtpSession::on_end_of_input() {
  if (in_data_) {
    fail(errc::unexpected_eof,
         std::string(protocol()) +
             ": the client closed the connection in the middle of a message (not accepted)");
    return;
  }
  finish();
}

}  // namespace

std::unique_ptr<starttls::Dialogue> smtp_session(const starttls::Learned& handed_over,
                                                 Options options, bool lmtp) {
  return std::make_unique<SmtpSession>(handed_over, std::move(options), lmtp);
}

}  // namespace uptls::sessions
