#include "uptls/starttls/imap.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "starttls/literal.hpp"
#include "starttls/mailbox.hpp"
#include "starttls/sasl.hpp"

namespace uptls::starttls {
namespace {

constexpr std::size_t max_server_literal = 1024 * 1024;

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

/// Whether a sequence set (`1`, `1:*`, `*`, `2,1`) names message 1, the
/// only one there is.
bool names_message_one(std::string_view set) {
  while (!set.empty()) {
    std::string_view item = set.substr(0, set.find(','));
    set.remove_prefix(std::min(item.size() + 1, set.size()));
    std::string_view low = item.substr(0, item.find(':'));
    if (low == "1" || low == "*" || (item.find(':') != std::string_view::npos && low == "0")) {
      return true;
    }
    std::string_view high = item.find(':') == std::string_view::npos
                                ? std::string_view()
                                : item.substr(item.find(':') + 1);
    if (high == "*" || high == "1") return true;
  }
  return false;
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
      command_(std::make_unique<detail::CommandAssembler>(options_.max_message)) {
  send("* OK [CAPABILITY " + capabilities() + "] " + options_.host_name +
       " IMAP4rev1 uptls ready\r\n");
}

ImapServer::~ImapServer() = default;

std::string_view ImapServer::protocol() const noexcept { return "imap"; }

std::string_view ImapServer::message() noexcept { return detail::sample_message; }

std::string ImapServer::capabilities() const {
  if (learned_.tls) return "IMAP4rev1 AUTH=PLAIN ID ENABLE UNSELECT";
  if (options_.policy == Policy::required) return "IMAP4rev1 STARTTLS LOGINDISABLED";
  return "IMAP4rev1 STARTTLS";
}

std::size_t ImapServer::on_receive(std::string_view bytes) {
  if (command_->in_literal()) return command_->add_literal(bytes);
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("* BYE line too long\r\n");
    return used;
  }
  if (!sasl_tag_.empty()) {
    authenticate(std::exchange(sasl_tag_, std::string()), *line);
    return used;
  }
  if (command_->empty() && !learned_.tls && options_.policy == Policy::opportunistic &&
      !options_.session) {
    auto words = detail::tokens(*line);
    if (words.size() >= 2 && detail::verb_is_one_of(words[1], {"LOGIN", "AUTHENTICATE"})) {
      // Plaintext was allowed: the application serves this command.
      finish();
      return 0;
    }
  }
  command_->limit(authenticated_ ? options_.max_message : detail::max_unauthenticated_command);
  bool synchronizing = false;
  switch (command_->add_line(*line, synchronizing)) {
    case detail::CommandAssembler::Line::too_large:
      send("* BYE command too large\r\n");
      fail(errc::line_too_long, "imap: the client sent a command larger than " +
                                    std::to_string(command_->limit()) + " bytes" +
                                    (authenticated_ ? "" : " before logging in"));
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
    std::string tag = words[0];
    std::string verb = upper(words[1]);
    std::vector<std::string> arguments(words.begin() + 2, words.end());
    bool uid = verb == "UID" && !arguments.empty();
    if (uid) {
      verb = upper(arguments.front());
      arguments.erase(arguments.begin());
    }
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
      finish();
      return;
    }
    if (verb == "STARTTLS") {
      if (learned_.tls) {
        send(tag + " BAD TLS is already active\r\n");
      } else {
        accept_starttls(rest, tag + " OK Begin TLS negotiation now\r\n",
                        tag + " BAD command pipelined after STARTTLS; closing\r\n");
      }
      return;
    }
    if (verb == "ID") {
      send("* ID (\"name\" \"uptls\")\r\n" + tag + " OK ID completed\r\n");
      return;
    }
    bool plaintext_refused = !learned_.tls && options_.policy == Policy::required;
    if (verb == "LOGIN" || verb == "AUTHENTICATE") {
      if (plaintext_refused) {
        send(tag + " NO [PRIVACYREQUIRED] TLS is required: STARTTLS first\r\n");
      } else if (verb == "AUTHENTICATE") {
        if (arguments.empty() || !detail::iequals(arguments[0], "PLAIN")) {
          send(tag + " NO [CANNOT] only PLAIN\r\n");
        } else if (arguments.size() > 1) {
          authenticate(tag, arguments[1]);
        } else {
          sasl_tag_ = tag;
          send("+ \r\n");
        }
      } else if (arguments.size() != 2) {
        send(tag + " BAD LOGIN takes a user name and a password\r\n");
      } else {
        authenticated_ = true;
        if (options_.log) options_.log("imap login as " + arguments[0]);
        send(tag + " OK [CAPABILITY " + capabilities() + "] LOGIN completed\r\n");
      }
      return;
    }
    if (authenticated_) {
      if (session_command(tag, verb, arguments, uid)) return;
      send(tag + " BAD unknown command " + verb + "\r\n");
    } else {
      send(tag + " BAD " + (plaintext_refused ? "STARTTLS, then " : "") +
           "LOGIN first, or the command is unknown\r\n");
    }
  }
  if (++errors_ > 20) {
    send("* BYE too many errors\r\n");
    fail(errc::protocol_error, "imap: the client made too many errors");
  }
}

void ImapServer::authenticate(const std::string& tag, std::string_view response) {
  if (response == "*") {
    send(tag + " BAD AUTHENTICATE cancelled\r\n");
    return;
  }
  auto user = detail::sasl_plain_user(response);
  if (!user) {
    send(tag + " BAD not a PLAIN response\r\n");
    return;
  }
  authenticated_ = true;
  if (options_.log) options_.log("imap login as " + *user);
  send(tag + " OK [CAPABILITY " + capabilities() + "] AUTHENTICATE completed\r\n");
}

bool ImapServer::session_command(const std::string& tag, const std::string& verb,
                                 const std::vector<std::string>& arguments, bool uid) {
  auto completed = [&](std::string_view name) {
    send(tag + " OK " + std::string(name) + " completed\r\n");
  };
  std::string size = std::to_string(detail::sample_message.size());
  if (verb == "SELECT" || verb == "EXAMINE") {
    if (arguments.empty() || !detail::iequals(arguments[0], "INBOX")) {
      send(tag + " NO [NONEXISTENT] there is only INBOX\r\n");
      return true;
    }
    selected_ = true;
    send(
        "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)\r\n* 1 EXISTS\r\n* 0 RECENT\r\n"
        "* OK [UIDVALIDITY 1] UIDs valid\r\n* OK [UIDNEXT 2] Predicted next UID\r\n" +
        tag + (verb == "SELECT" ? " OK [READ-WRITE] SELECT" : " OK [READ-ONLY] EXAMINE") +
        " completed\r\n");
  } else if (verb == "LIST" || verb == "LSUB") {
    if (arguments.size() == 2 && arguments[1].empty()) {
      send("* " + verb + " (\\Noselect) \"/\" \"\"\r\n");
    } else {
      send("* " + verb + " (\\HasNoChildren) \"/\" INBOX\r\n");
    }
    completed(verb);
  } else if (verb == "STATUS") {
    send("* STATUS INBOX (MESSAGES 1 RECENT 0 UIDNEXT 2 UIDVALIDITY 1 UNSEEN 0)\r\n");
    completed(verb);
  } else if (verb == "CLOSE" || verb == "UNSELECT") {
    selected_ = false;
    completed(verb);
  } else if (verb == "CHECK" || verb == "EXPUNGE" || verb == "ENABLE" || verb == "SUBSCRIBE") {
    completed(verb);
  } else if (!selected_ && (verb == "FETCH" || verb == "SEARCH" || verb == "STORE")) {
    send(tag + " BAD SELECT a mailbox first\r\n");
  } else if (verb == "SEARCH") {
    send("* SEARCH 1\r\n");
    completed(verb);
  } else if (verb == "STORE") {
    if (!arguments.empty() && names_message_one(arguments[0])) {
      send(std::string("* 1 FETCH (FLAGS (\\Seen)") + (uid ? " UID 1" : "") + ")\r\n");
    }
    completed(verb);
  } else if (verb == "FETCH") {
    if (arguments.size() < 2) {
      send(tag + " BAD FETCH takes a sequence set and items\r\n");
      return true;
    }
    if (names_message_one(arguments[0])) {
      std::string items = upper(arguments[1]);
      std::string body(detail::sample_message);
      std::size_t split = body.find("\r\n\r\n") + 4;
      std::string parts;
      auto add = [&parts](const std::string& part) { parts += (parts.empty() ? "" : " ") + part; };
      auto literal = [](std::string_view data) {
        std::string out = "{";
        out.append(std::to_string(data.size())).append("}\r\n").append(data);
        return out;
      };
      if (uid || items.find("UID") != std::string::npos) add("UID 1");
      if (items.find("FLAGS") != std::string::npos || items == "ALL" || items == "FAST") {
        add("FLAGS (\\Seen)");
      }
      if (items.find("RFC822.SIZE") != std::string::npos || items == "ALL" || items == "FAST") {
        add("RFC822.SIZE " + size);
      }
      if (items.find("INTERNALDATE") != std::string::npos || items == "ALL") {
        add("INTERNALDATE \"23-Nov-2026 00:00:00 +0000\"");
      }
      if (items.find("BODY[]") != std::string::npos ||
          items.find("BODY.PEEK[]") != std::string::npos) {
        add("BODY[] " + literal(body));
      } else if (items.find("BODY[HEADER]") != std::string::npos ||
                 items.find("BODY.PEEK[HEADER]") != std::string::npos) {
        add("BODY[HEADER] " + literal(std::string_view(body).substr(0, split)));
      } else if (items.find("BODY[TEXT]") != std::string::npos ||
                 items.find("BODY.PEEK[TEXT]") != std::string::npos) {
        add("BODY[TEXT] " + literal(std::string_view(body).substr(split)));
      } else if (items.find("RFC822.HEADER") != std::string::npos) {
        add("RFC822.HEADER " + literal(std::string_view(body).substr(0, split)));
      } else if (items.find("RFC822") != std::string::npos &&
                 items.find("RFC822.SIZE") == std::string::npos) {
        add("RFC822 " + literal(body));
      }
      send("* 1 FETCH (" + parts + ")\r\n");
    }
    completed(std::string(uid ? "UID " : "") + verb);
  } else {
    return false;
  }
  return true;
}

void ImapServer::on_tls() {
  // Nothing from before TLS carries over.
  authenticated_ = false;
  selected_ = false;
  if (!options_.session) finish();
}

void ImapServer::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
