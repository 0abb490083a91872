#include "uptls/starttls/irc.hpp"

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"

namespace uptls::starttls {
namespace {

/// A message's command and parameters, without its prefix (`:server`).
struct Message {
  std::string_view command;
  std::string_view parameters;
};

Message parse(std::string_view line) {
  if (!line.empty() && line[0] == '@')
    line.remove_prefix(std::min(line.find(' ') + 1, line.size()));
  if (!line.empty() && line[0] == ':')
    line.remove_prefix(std::min(line.find(' ') + 1, line.size()));
  auto [command, parameters] = detail::split_command(line);
  return {command, parameters};
}

/// The last parameter (after " :", or the last word).
std::string_view trailing(std::string_view parameters) {
  std::size_t colon = parameters.find(" :");
  if (colon != std::string_view::npos) return parameters.substr(colon + 2);
  if (!parameters.empty() && parameters[0] == ':') return parameters.substr(1);
  std::size_t space = parameters.rfind(' ');
  return space == std::string_view::npos ? parameters : parameters.substr(space + 1);
}

}  // namespace

// ---- client ---------------------------------------------------------------

IrcClient::IrcClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {
  send("STARTTLS\r\n");
}

std::string_view IrcClient::protocol() const noexcept { return "irc"; }

std::size_t IrcClient::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) return used;
  Message message = parse(*line);
  std::string quote = detail::printable(*line, 300);
  if (detail::iequals(message.command, "ERROR")) {
    fail(errc::protocol_error, "irc: the server closed the link: " + quote);
    return used;
  }
  if (!learned_.tls) {
    if (message.command == "670") {
      upgrade();
    } else if (message.command == "691") {
      unavailable(options_.policy, "the server could not start TLS: " + quote);
    } else if (message.command == "421" || message.command == "451") {
      unavailable(options_.policy, "the server does not know STARTTLS: " + quote);
    } else if (detail::iequals(message.command, "NOTICE") && learned_.greeting.empty()) {
      learned_.greeting = std::string(trailing(message.parameters));
    }
    return used;
  }
  if (detail::iequals(message.command, "CAP") && listing_) {
    // "CAP * LS * :caps" goes on; "CAP * LS :caps" ends.
    auto [target, rest] = detail::split_command(message.parameters);
    auto [subcommand, list] = detail::split_command(rest);
    if (!detail::iequals(subcommand, "LS")) return used;
    bool more = list.substr(0, 2) == "* ";
    for (std::string_view caps = trailing(list); !caps.empty();) {
      std::string_view cap = detail::first_word(caps);
      if (!cap.empty() && learned_.capabilities.size() < options_.max_reply_lines) {
        learned_.capabilities.emplace_back(cap);
      }
      caps.remove_prefix(std::min(cap.size() + 1, caps.size()));
    }
    if (!more) {
      send("CAP END\r\n");
      finish();
    }
  } else if (message.command == "421" && listing_) {
    finish();  // a server without CAP: nothing to list
  }
  return used;
}

void IrcClient::on_tls() {
  learned_.capabilities.clear();
  send("CAP LS 302\r\n");
  listing_ = true;
}

// ---- server ---------------------------------------------------------------

// No notice on connect: openssl s_client -starttls irc takes any line but a
// numeric before 670 as a refusal.
IrcServer::IrcServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)) {}

std::string_view IrcServer::protocol() const noexcept { return "irc"; }

void IrcServer::reply(std::string_view numeric, std::string_view text) {
  send(":" + options_.host_name + " " + std::string(numeric) + " " + nick_ + " " +
       std::string(text) + "\r\n");
}

std::size_t IrcServer::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("ERROR :line too long\r\n");
    return used;
  }
  if (line->empty()) return used;
  if (!learned_.tls && options_.policy == Policy::opportunistic && !options_.session &&
      detail::verb_is_one_of(parse(*line).command, {"NICK", "USER", "PASS"})) {
    // Plaintext was allowed: the application serves this command.
    finish();
    return 0;
  }
  command(*line, bytes.substr(used));
  return used;
}

void IrcServer::command(std::string_view line, std::string_view rest) {
  Message message = parse(line);
  auto is = [&message](std::string_view name) { return detail::iequals(message.command, name); };
  if (is("STARTTLS")) {
    if (learned_.tls) {
      reply("691", ":TLS is already active");
    } else if (registered_) {
      reply("691", ":STARTTLS comes before registration");
    } else {
      std::string go_ahead = ":" + options_.host_name + " 670 " + nick_ +
                             " :STARTTLS successful, go ahead with TLS handshake\r\n";
      accept_starttls(rest, go_ahead, "ERROR :command pipelined after STARTTLS; closing\r\n");
    }
    return;
  }
  if (is("CAP")) {
    auto [subcommand, ignored] = detail::split_command(message.parameters);
    if (detail::iequals(subcommand, "LS")) {
      negotiating_ = true;
      send(":" + options_.host_name + " CAP " + nick_ +
           " LS :" + (learned_.tls ? "server-time" : "tls") + "\r\n");
    } else if (detail::iequals(subcommand, "END")) {
      negotiating_ = false;
    } else if (detail::iequals(subcommand, "REQ")) {
      send(":" + options_.host_name + " CAP " + nick_ +
           " NAK :" + std::string(trailing(message.parameters)) + "\r\n");
    }
    return;
  }
  if (is("QUIT")) {
    send("ERROR :Closing link (quit)\r\n");
    finish();
    return;
  }
  if (is("PING")) {
    send(":" + options_.host_name + " PONG " + options_.host_name + " :" +
         std::string(trailing(message.parameters)) + "\r\n");
    return;
  }
  bool plaintext_refused = !learned_.tls && options_.policy == Policy::required;
  if (is("NICK") || is("USER") || is("PASS")) {
    if (plaintext_refused) {
      send("ERROR :TLS is required: send STARTTLS first\r\n");
      fail(errc::protocol_error, "irc: the client registered before TLS, which is required");
      return;
    }
    if (is("NICK")) nick_ = std::string(detail::first_word(message.parameters));
    if (is("USER")) user_ = true;
    if (!registered_ && user_ && nick_ != "*" && !negotiating_ && options_.session) {
      registered_ = true;
      if (options_.log) options_.log("irc registered as " + nick_);
      reply("001", ":Welcome to the uptls IRC server " + nick_);
      reply("002", ":Your host is " + options_.host_name + ", running uptls");
      reply("003", ":This server was created today");
      reply("004", options_.host_name + " uptls i n");
      reply("422", ":MOTD File is missing");
    }
    return;
  }
  if (registered_ && is("JOIN")) {
    std::string channel(detail::first_word(message.parameters));
    send(":" + nick_ + "!" + nick_ + "@uptls JOIN " + channel + "\r\n");
    reply("353", "= " + channel + " :" + nick_);
    reply("366", channel + " :End of /NAMES list.");
    return;
  }
  if (registered_ && (is("PRIVMSG") || is("NOTICE"))) {
    if (options_.log)
      options_.log("irc message to " + std::string(detail::first_word(message.parameters)));
    return;
  }
  reply(registered_ ? "421" : "451",
        std::string(message.command) +
            (registered_ ? " :Unknown command" : " :You have not registered"));
  if (++errors_ > 20) {
    send("ERROR :too many errors\r\n");
    fail(errc::protocol_error, "irc: the client made too many errors");
  }
}

void IrcServer::on_tls() {
  if (!options_.session) finish();
}

void IrcServer::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
