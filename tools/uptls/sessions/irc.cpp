// IRC after STARTTLS: registration (001-004, no MOTD), PING, JOIN, PRIVMSG
// (logged) and QUIT.

#include <string>

#include "ascii.hpp"
#include "sessions/session.hpp"
#include "starttls/command.hpp"
#include "starttls/irc_wire.hpp"

namespace uptls::sessions {
namespace {

using namespace detail::irc;

class IrcSession final : public Session {
 public:
  using Session::Session;
  std::string_view protocol() const noexcept override { return "irc"; }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
  void command(std::string_view line);
  void cap(std::string_view parameters);
  void reply(std::string_view numeric, std::string_view text);
  void register_if_complete();

  std::string nick_ = "*";
  bool user_ = false;
  bool registered_ = false;
  bool negotiating_ = false;  // CAP LS seen, CAP END not yet
  std::size_t errors_ = 0;
};

std::size_t IrcSession::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == starttls::Next::failed) send("ERROR :line too long\r\n");
  } else if (!line->empty()) {
    command(*line);
  }
  return used;
}

void IrcSession::reply(std::string_view numeric, std::string_view text) {
  send(":" + options_.host_name + " " + std::string(numeric) + " " + nick_ + " " +
       std::string(text) + "\r\n");
}

void IrcSession::cap(std::string_view parameters) {
  auto [subcommand, ignored] = detail::split_command(parameters);
  if (detail::iequals(subcommand, "LS")) {
    negotiating_ = true;
    send(":" + options_.host_name + " CAP " + nick_ + " LS :server-time\r\n");
  } else if (detail::iequals(subcommand, "END")) {
    negotiating_ = false;
    register_if_complete();
  } else if (detail::iequals(subcommand, "REQ")) {
    send(":" + options_.host_name + " CAP " + nick_ + " NAK :" + std::string(trailing(parameters)) +
         "\r\n");
  }
}

void IrcSession::register_if_complete() {
  if (registered_ || !user_ || nick_ == "*" || negotiating_) return;
  registered_ = true;
  log("irc registered as " + nick_);
  reply("001", ":Welcome to the uptls IRC server " + nick_);
  reply("002", ":Your host is " + options_.host_name + ", running uptls");
  reply("003", ":This server was created today");
  reply("004", options_.host_name + " uptls i n");
  reply("422", ":MOTD File is missing");
}

void IrcSession::command(std::string_view line) {
  Message message = parse(line);
  auto is = [&message](std::string_view name) { return detail::iequals(message.command, name); };
  if (is("STARTTLS")) {
    reply("691", learned_.tls ? ":TLS is already active" : ":this session went on in plaintext");
  } else if (is("CAP")) {
    cap(message.parameters);
  } else if (is("QUIT")) {
    send("ERROR :Closing link (quit)\r\n");
    finish();
  } else if (is("PING")) {
    send(":" + options_.host_name + " PONG " + options_.host_name + " :" +
         std::string(trailing(message.parameters)) + "\r\n");
  } else if (is("NICK") || is("USER") || is("PASS")) {
    if (is("NICK")) nick_ = std::string(detail::first_word(message.parameters));
    if (is("USER")) user_ = true;
    register_if_complete();
  } else if (registered_ && is("JOIN")) {
    std::string channel(detail::first_word(message.parameters));
    send(":" + nick_ + "!" + nick_ + "@uptls JOIN " + channel + "\r\n");
    reply("353", "= " + channel + " :" + nick_);
    reply("366", channel + " :End of /NAMES list.");
  } else if (registered_ && (is("PRIVMSG") || is("NOTICE"))) {
    log("irc message to " + std::string(detail::first_word(message.parameters)));
  } else {
    reply(registered_ ? "421" : "451",
          std::string(message.command) +
              (registered_ ? " :Unknown command" : " :You have not registered"));
    if (++errors_ > 20) {
      send("ERROR :too many errors\r\n");
      fail(errc::protocol_error, "irc: the client made too many errors");
    }
  }
}

}  // namespace

std::unique_ptr<starttls::Dialogue> irc_session(const starttls::Learned& handed_over,
                                                Options options) {
  return std::make_unique<IrcSession>(handed_over, std::move(options));
}

}  // namespace uptls::sessions
