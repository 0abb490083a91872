#include "starttls/irc.hpp"
#include "starttls/irc_wire.hpp"

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"

namespace uptls::starttls {

using namespace detail::irc;

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

// Registration (NICK, USER, PASS): one list for both policies.
const Verb<IrcServer> IrcServer::verbs[] = {
    {"STARTTLS", &IrcServer::starttls},
    {"CAP", &IrcServer::cap},
    {"QUIT", &IrcServer::quit},
    {"PING", &IrcServer::ping},
    {"NICK"},
    {"USER"},
    {"PASS"},
};

// No notice on connect: openssl s_client -starttls irc takes any line but a
// numeric before 670 as a refusal.
IrcServer::IrcServer(ServerDialogueOptions options)
    : VerbServer(std::move(options), verbs, Unlisted::unknown, "ERROR :too many errors\r\n") {}

std::string_view IrcServer::protocol() const noexcept { return "irc"; }

std::size_t IrcServer::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("ERROR :line too long\r\n");
    return used;
  }
  if (line->empty()) return used;
  Message message = parse(*line);
  if (hands_over(message.command)) return 0;
  auto [verdict, handler] = look_up(message.command);
  if (verdict == Verdict::served) {
    serve(handler, Command{message.command, message.parameters, bytes.substr(used)});
  } else if (verdict == Verdict::needs_tls) {
    send("ERROR :TLS is required: send STARTTLS first\r\n");
    fail(errc::protocol_error, "irc: the client registered before TLS, which is required");
  } else {
    refuse(":" + options_.host_name + " 451 * " + std::string(message.command) +
           " :You have not registered\r\n");
  }
  return used;
}

void IrcServer::starttls(const Command& command) {
  accept_starttls(
      command.rest,
      ":" + options_.host_name + " 670 * :STARTTLS successful, go ahead with TLS handshake\r\n",
      "ERROR :command pipelined after STARTTLS; closing\r\n");
}

void IrcServer::cap(const Command& command) {
  auto [subcommand, ignored] = detail::split_command(command.argument);
  std::string list = "tls";
  for (const std::string& capability : options_.capabilities) list += " " + capability;
  if (detail::iequals(subcommand, "LS")) {
    send(":" + options_.host_name + " CAP * LS :" + list + "\r\n");
  } else if (detail::iequals(subcommand, "REQ")) {
    send(":" + options_.host_name + " CAP * NAK :" + std::string(trailing(command.argument)) +
         "\r\n");
  }
}

void IrcServer::quit(const Command&) {
  send("ERROR :Closing link (quit)\r\n");
  peer_left();
}

void IrcServer::ping(const Command& command) {
  send(":" + options_.host_name + " PONG " + options_.host_name + " :" +
       std::string(trailing(command.argument)) + "\r\n");
}

// Registration goes on over TLS, with the application.
void IrcServer::on_tls() { finish(); }

}  // namespace uptls::starttls
