#include "uptls/starttls/pop3.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "starttls/mailbox.hpp"

namespace uptls::starttls {
namespace {

bool ok(std::string_view line) { return line.substr(0, 3) == "+OK"; }

}  // namespace

// ---- client ---------------------------------------------------------------

Pop3Client::Pop3Client(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {}

std::string_view Pop3Client::protocol() const noexcept { return "pop3"; }

std::size_t Pop3Client::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) return used;
  if (state_ == State::capa_list || state_ == State::capa_list_tls) {
    if (*line == ".") {
      on_capabilities();
    } else if (capabilities_.size() >= options_.max_reply_lines) {
      fail(errc::protocol_error, "pop3: the server sent a CAPA list longer than " +
                                     std::to_string(options_.max_reply_lines) + " lines");
    } else {
      std::string_view capability = *line;
      if (!capability.empty() && capability[0] == '.') capability.remove_prefix(1);
      capabilities_.emplace_back(capability);
    }
    return used;
  }
  on_status(*line);
  return used;
}

void Pop3Client::on_status(std::string_view line) {
  std::string quote = detail::printable(line, 300);
  if (line.substr(0, 3) != "+OK" && line.substr(0, 4) != "-ERR") {
    fail(errc::protocol_error, "pop3: the server sent " + quote + " where +OK or -ERR was due");
    return;
  }
  switch (state_) {
    case State::greeting:
      if (!ok(line)) {
        fail(errc::protocol_error, "pop3: the server refused the session: " + quote);
        return;
      }
      learned_.greeting = std::string(line.substr(std::min<std::size_t>(4, line.size())));
      send("CAPA\r\n");
      state_ = State::capa;
      return;
    case State::capa:
    case State::capa_tls:
      if (!ok(line)) {
        if (state_ == State::capa) {
          unavailable(
              options_.policy,
              "the server does not list its capabilities (CAPA), so it offers no STLS: " + quote);
        } else {
          fail(errc::protocol_error, "pop3: the server refused CAPA over TLS: " + quote);
        }
        return;
      }
      capabilities_.clear();
      state_ = state_ == State::capa ? State::capa_list : State::capa_list_tls;
      return;
    case State::stls:
      if (!ok(line)) {
        unavailable(options_.policy, "the server refused STLS: " + quote);
        return;
      }
      upgrade();
      return;
    case State::capa_list:
    case State::capa_list_tls:
      return;
  }
}

void Pop3Client::on_capabilities() {
  learned_.capabilities = capabilities_;
  if (state_ == State::capa_list_tls) {
    finish();
    return;
  }
  if (!offers(options_.policy, capabilities_, "STLS")) return;
  send("STLS\r\n");
  state_ = State::stls;
}

void Pop3Client::on_tls() {
  // RFC 2595 §4: the client discards what it knew and asks again.
  capabilities_.clear();
  learned_.capabilities.clear();
  send("CAPA\r\n");
  state_ = State::capa_tls;
}

// ---- server ---------------------------------------------------------------

Pop3Server::Pop3Server(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)) {
  send("+OK " + options_.host_name + " POP3 uptls ready\r\n");
}

std::string_view Pop3Server::protocol() const noexcept { return "pop3"; }

std::size_t Pop3Server::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("-ERR line too long; closing\r\n");
    return used;
  }
  if (!learned_.tls && options_.policy == Policy::opportunistic && !options_.session &&
      detail::verb_is_one_of(*line, {"USER", "PASS", "APOP", "AUTH"})) {
    // Plaintext was allowed: the application serves this command.
    finish();
    return 0;
  }
  command(*line, bytes.substr(used));
  return used;
}

void Pop3Server::command(std::string_view line, std::string_view rest) {
  auto [verb, argument] = detail::split_command(line);
  auto is = [verb = verb](std::string_view name) { return detail::iequals(verb, name); };
  if (is("CAPA")) {
    send(std::string("+OK Capability list follows\r\nTOP\r\nUIDL\r\n") +
         (learned_.tls ? "USER\r\n" : "STLS\r\n") + "IMPLEMENTATION uptls\r\n.\r\n");
    return;
  }
  if (is("STLS")) {
    if (learned_.tls) {
      send("-ERR TLS is already active\r\n");
    } else if (authenticated_) {
      send("-ERR STLS is for the authorization state\r\n");
    } else {
      accept_starttls(rest, "+OK Begin TLS negotiation\r\n",
                      "-ERR command pipelined after STLS; closing\r\n");
    }
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
    if (!learned_.tls && options_.policy == Policy::required) {
      send("-ERR [AUTH] TLS is required: STLS first\r\n");
    } else if (authenticated_) {
      send("-ERR already authenticated\r\n");
    } else if (is("USER") && !argument.empty()) {
      user_ = std::string(argument);
      send("+OK send PASS\r\n");
      return;
    } else if (is("PASS") && !user_.empty()) {
      authenticated_ = true;
      if (options_.log) options_.log("pop3 login as " + user_);
      send("+OK maildrop has 1 message\r\n");
      return;
    } else {
      send("-ERR USER name, then PASS password\r\n");
    }
  } else if (authenticated_ && transaction(verb, argument)) {
    return;
  } else {
    send(authenticated_ ? "-ERR unknown command\r\n" : "-ERR authenticate first\r\n");
  }
  if (++errors_ > 20) {
    send("-ERR too many errors; closing\r\n");
    fail(errc::protocol_error, "pop3: the client made too many errors");
  }
}

bool Pop3Server::transaction(std::string_view verb, std::string_view argument) {
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  std::string_view message = detail::sample_message;
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
    send("+OK " + size + " octets\r\n" + detail::dot_stuffed(message) + ".\r\n");
  } else if (is("TOP")) {
    std::size_t split = message.find("\r\n\r\n") + 4;
    send("+OK\r\n" + detail::dot_stuffed(message.substr(0, split)) + ".\r\n");
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

void Pop3Server::on_tls() {
  user_.clear();
  if (!options_.session) finish();
}

void Pop3Server::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
