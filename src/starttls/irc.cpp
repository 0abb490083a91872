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

// No notice on connect: openssl s_client -starttls irc takes any line but a
// numeric before 670 as a refusal.
IrcServer::IrcServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)) {}

std::string_view IrcServer::protocol() const noexcept { return "irc"; }

std::size_t IrcServer::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("ERROR :line too long\r\n");
    return used;
  }
  if (line->empty()) return used;
  if (options_.policy == Policy::opportunistic && needs_tls(*line)) {
    // Plaintext was allowed: the application serves this command.
    finish();
    return 0;
  }
  command(*line, bytes.substr(used));
  return used;
}

// Registration: one list for both policies, as SmtpServer's.
bool IrcServer::needs_tls(std::string_view line) {
  return detail::verb_is_one_of(parse(line).command, {"NICK", "USER", "PASS"});
}

void IrcServer::command(std::string_view line, std::string_view rest) {
  Message message = parse(line);
  auto is = [&message](std::string_view name) { return detail::iequals(message.command, name); };
  const std::string& host = options_.host_name;
  if (is("STARTTLS")) {
    accept_starttls(rest,
                    ":" + host + " 670 * :STARTTLS successful, go ahead with TLS handshake\r\n",
                    "ERROR :command pipelined after STARTTLS; closing\r\n");
  } else if (is("CAP")) {
    auto [subcommand, ignored] = detail::split_command(message.parameters);
    std::string list = "tls";
    for (const std::string& capability : options_.capabilities) list += " " + capability;
    if (detail::iequals(subcommand, "LS")) {
      send(":" + host + " CAP * LS :" + list + "\r\n");
    } else if (detail::iequals(subcommand, "REQ")) {
      send(":" + host + " CAP * NAK :" + std::string(trailing(message.parameters)) + "\r\n");
    }
  } else if (is("QUIT")) {
    send("ERROR :Closing link (quit)\r\n");
    peer_left();
  } else if (is("PING")) {
    send(":" + host + " PONG " + host + " :" + std::string(trailing(message.parameters)) + "\r\n");
  } else if (needs_tls(line)) {
    send("ERROR :TLS is required: send STARTTLS first\r\n");
    fail(errc::protocol_error, "irc: the client registered before TLS, which is required");
  } else {
    send(":" + host + " 451 * " + std::string(message.command) + " :You have not registered\r\n");
    if (++errors_ > 20) {
      send("ERROR :too many errors\r\n");
      fail(errc::protocol_error, "irc: the client made too many errors");
    }
  }
}

// Registration goes on over TLS, with the application.
void IrcServer::on_tls() { finish(); }

void IrcServer::on_end_of_input() { peer_left(); }

}  // namespace uptls::starttls
