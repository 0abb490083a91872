#include "starttls/imap.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "starttls/literal.hpp"

namespace uptls::starttls {
namespace {

constexpr std::size_t max_server_literal = 1024 * 1024;

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

}  // namespace

// ---- client ---------------------------------------------------------------

ImapClient::ImapClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {}

std::string_view ImapClient::protocol() const noexcept { return "imap"; }

void ImapClient::command(std::string_view text) {
  ++tag_;
  std::string number = std::to_string(tag_);
  tag_text_ = number.size() < 3 ? std::string(3 - number.size(), '0') + number : number;
  tag_text_.insert(0, 1, 'A');
  send(tag_text_ + " " + std::string(text) + "\r\n");
}

std::size_t ImapClient::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_response_line(bytes, used, literals_, max_server_literal);
  if (line) on_line(*line);
  return used;
}

void ImapClient::on_line(std::string_view line) {
  std::string quote = detail::printable(line, 300);
  auto [first, rest] = detail::split_command(line);
  if (state_ == State::greeting) {
    auto [status, text] = detail::split_command(rest);
    if (first == "*" && detail::iequals(status, "OK")) {
      learned_.greeting = std::string(text);
      command("CAPABILITY");
      state_ = State::capability;
    } else if (first == "*" && detail::iequals(status, "PREAUTH")) {
      unavailable(options_.policy,
                  "the server greeted with PREAUTH (already authenticated, so STARTTLS is not "
                  "possible): " +
                      quote);
    } else if (first == "*" && detail::iequals(status, "BYE")) {
      fail(errc::protocol_error, "imap: the server refused the session: " + quote);
    } else {
      fail(errc::protocol_error, "imap: not an IMAP greeting: " + quote);
    }
    return;
  }
  if (first == "*") {
    auto [name, list] = detail::split_command(rest);
    // EAST: an untagged CAPABILITY while STARTTLS is pending is never taken.
    if (detail::iequals(name, "CAPABILITY") && state_ != State::starttls) {
      capabilities_.clear();
      for (auto& word : detail::tokens(list)) capabilities_.push_back(std::move(word));
    }
    return;
  }
  if (first != tag_text_) {
    fail(errc::protocol_error,
         "imap: the server sent " + quote + " where the response to " + tag_text_ + " was due");
    return;
  }
  bool ok = detail::iequals(detail::first_word(rest), "OK");
  switch (state_) {
    case State::greeting:
      break;
    case State::capability: {
      if (!ok) {
        unavailable(options_.policy, "the server refused CAPABILITY: " + quote);
        return;
      }
      learned_.capabilities = capabilities_;
      if (!offers(options_.policy, capabilities_, "STARTTLS", " ")) return;
      command("STARTTLS");
      state_ = State::starttls;
      return;
    }
    case State::starttls:
      if (!ok) {
        unavailable(options_.policy, "the server refused STARTTLS: " + quote);
        return;
      }
      upgrade();
      return;
    case State::capability_tls:
      if (!ok) {
        fail(errc::protocol_error, "imap: the server refused CAPABILITY over TLS: " + quote);
        return;
      }
      learned_.capabilities = capabilities_;
      finish();
      return;
  }
}

void ImapClient::on_tls() {
  // RFC 9051 §6.2.1: discard what the server said before TLS, and ask again.
  capabilities_.clear();
  learned_.capabilities.clear();
  command("CAPABILITY");
  state_ = State::capability_tls;
}

// ---- server ---------------------------------------------------------------

ImapServer::ImapServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line),
      options_(std::move(options)),
      command_(std::make_unique<detail::CommandAssembler>(detail::max_unauthenticated_command)) {
  send("* OK [CAPABILITY " + capabilities() + "] " +
       (options_.greeting.empty() ? options_.host_name + " IMAP4rev1" : options_.greeting) +
       "\r\n");
}

ImapServer::~ImapServer() = default;

std::string_view ImapServer::protocol() const noexcept { return "imap"; }

std::string ImapServer::capabilities() const {
  std::string list = "IMAP4rev1";
  for (const std::string& capability : options_.capabilities) list += " " + capability;
  list += " STARTTLS";
  if (options_.policy == Policy::required) list += " LOGINDISABLED";
  return list;
}

std::size_t ImapServer::on_receive(std::string_view bytes) {
  if (command_->in_literal()) return command_->add_literal(bytes);
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("* BYE line too long\r\n");
    return used;
  }
  if (command_->empty() && options_.policy == Policy::opportunistic) {
    auto words = detail::tokens(*line);
    if (words.size() >= 2 && detail::verb_is_one_of(words[1], {"LOGIN", "AUTHENTICATE"})) {
      // Plaintext was allowed: the application serves this command.
      finish();
      return 0;
    }
  }
  bool synchronizing = false;
  switch (command_->add_line(*line, synchronizing)) {
    case detail::CommandAssembler::Line::too_large:
      send("* BYE command too large\r\n");
      fail(errc::line_too_long, "imap: the client sent a command larger than " +
                                    std::to_string(command_->limit()) + " bytes before TLS");
      break;
    case detail::CommandAssembler::Line::literal_follows:
      if (synchronizing) send("+ Ready for literal data\r\n");
      break;
    case detail::CommandAssembler::Line::complete:
      command(command_->take(), bytes.substr(used));
      break;
  }
  return used;
}

void ImapServer::command(std::string_view line, std::string_view rest) {
  auto words = detail::tokens(line);
  if (words.size() < 2) {
    send("* BAD a command is a tag and a name\r\n");
  } else {
    const std::string& tag = words[0];
    std::string verb = upper(words[1]);
    if (verb == "CAPABILITY") {
      send("* CAPABILITY " + capabilities() + "\r\n" + tag + " OK CAPABILITY completed\r\n");
      return;
    }
    if (verb == "NOOP") {
      send(tag + " OK NOOP completed\r\n");
      return;
    }
    if (verb == "LOGOUT") {
      send("* BYE " + options_.host_name + " logging out\r\n" + tag + " OK LOGOUT completed\r\n");
      peer_left();
      return;
    }
    if (verb == "STARTTLS") {
      accept_starttls(rest, tag + " OK Begin TLS negotiation now\r\n",
                      tag + " BAD command pipelined after STARTTLS; closing\r\n");
      return;
    }
    if (verb == "LOGIN" || verb == "AUTHENTICATE") {
      send(tag + " NO [PRIVACYREQUIRED] TLS is required: STARTTLS first\r\n");
    } else {
      send(tag + " BAD STARTTLS, then LOGIN first, or the command is unknown\r\n");
    }
  }
  if (++errors_ > 20) {
    send("* BYE too many errors\r\n");
    fail(errc::protocol_error, "imap: the client made too many errors");
  }
}

// RFC 9051 §6.2.1: nothing from before TLS carries over; the client asks
// CAPABILITY again, of the application.
void ImapServer::on_tls() { finish(); }

void ImapServer::on_end_of_input() { peer_left(); }

}  // namespace uptls::starttls
