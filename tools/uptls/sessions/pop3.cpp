// POP3 after STLS: a maildrop of one message, for any user.

#include <string>

#include "ascii.hpp"
#include "sessions/mailbox.hpp"
#include "sessions/session.hpp"
#include "starttls/command.hpp"

namespace uptls::sessions {
namespace {

class Pop3Session final : public Session {
 public:
  using Session::Session;
  std::string_view protocol() const noexcept override { return "pop3"; }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
  void command(std::string_view line);
  void login(std::string_view verb, std::string_view argument);
  bool transaction(std::string_view verb, std::string_view argument);

  std::string user_;
  bool authenticated_ = false;
  bool deleted_ = false;
  std::size_t errors_ = 0;
};

std::size_t Pop3Session::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (line) {
    command(*line);
  } else if (next() == starttls::Next::failed) {
    send("-ERR line too long; closing\r\n");
  }
  return used;
}

void Pop3Session::command(std::string_view line) {
  auto [verb, argument] = detail::split_command(line);
  auto is = [verb = verb](std::string_view name) { return detail::iequals(verb, name); };
  if (is("CAPA")) {
    send("+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nIMPLEMENTATION uptls\r\n.\r\n");
    return;
  }
  if (is("STLS")) {
    send(learned_.tls ? "-ERR TLS is already active\r\n"
                      : "-ERR STLS is for the authorization state\r\n");
    return;
  }
  if (is("QUIT")) {
    send("+OK " + options_.host_name + " signing off\r\n");
    finish();
    return;
  }
  if (is("NOOP") && authenticated_) {
    send("+OK\r\n");
    return;
  }
  if (is("USER") || is("PASS") || is("APOP") || is("AUTH")) {
    login(verb, argument);
    return;
  }
  if (!authenticated_ || !transaction(verb, argument)) {
    send(authenticated_ ? "-ERR unknown command\r\n" : "-ERR authenticate first\r\n");
    if (++errors_ > 20) {
      send("-ERR too many errors; closing\r\n");
      fail(errc::protocol_error, "pop3: the client made too many errors");
    }
  }
}

void Pop3Session::login(std::string_view verb, std::string_view argument) {
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  if (authenticated_) {
    send("-ERR already authenticated\r\n");
  } else if (is("USER") && !argument.empty()) {
    user_ = std::string(argument);
    send("+OK send PASS\r\n");
  } else if (is("PASS") && !user_.empty()) {
    authenticated_ = true;
    log("pop3 login as " + user_);
    send("+OK maildrop has 1 message\r\n");
  } else {
    send("-ERR USER name, then PASS password\r\n");
  }
}

bool Pop3Session::transaction(std::string_view verb, std::string_view argument) {
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  std::string_view message = sample_message;
  std::string size = std::to_string(message.size());
  bool one = argument.empty() || argument == "1" || argument.substr(0, 2) == "1 ";
  if (!is("STAT") && !is("RSET") && !one) {
    send("-ERR no such message\r\n");
    return true;
  }
  if (deleted_ && !is("RSET") && !is("STAT") && !argument.empty()) {
    send("-ERR message 1 is deleted\r\n");
    return true;
  }
  if (is("STAT")) {
    send(deleted_ ? "+OK 0 0\r\n" : "+OK 1 " + size + "\r\n");
  } else if (is("LIST")) {
    send(!argument.empty() ? "+OK 1 " + size + "\r\n"
                           : "+OK\r\n" + (deleted_ ? "" : "1 " + size + "\r\n") + ".\r\n");
  } else if (is("UIDL")) {
    send(!argument.empty() ? "+OK 1 uptls-1\r\n"
                           : "+OK\r\n" + std::string(deleted_ ? "" : "1 uptls-1\r\n") + ".\r\n");
  } else if (is("RETR")) {
    send("+OK " + size + " octets\r\n" + dot_stuffed(message) + ".\r\n");
  } else if (is("TOP")) {
    std::size_t split = message.find("\r\n\r\n") + 4;
    send("+OK\r\n" + dot_stuffed(message.substr(0, split)) + ".\r\n");
  } else if (is("DELE")) {
    deleted_ = true;
    send("+OK message 1 deleted\r\n");
  } else if (is("RSET")) {
    deleted_ = false;
    send("+OK\r\n");
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<starttls::Dialogue> pop3_session(const starttls::Learned& handed_over,
                                                 Options options) {
  return std::make_unique<Pop3Session>(handed_over, std::move(options));
}

}  // namespace uptls::sessions
