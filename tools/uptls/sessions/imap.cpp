// IMAP after STARTTLS: one mailbox, INBOX, holding one message, for any
// user.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ascii.hpp"
#include "sessions/mailbox.hpp"
#include "sessions/session.hpp"
#include "starttls/command.hpp"
#include "starttls/literal.hpp"
#include "starttls/sasl.hpp"

namespace uptls::sessions {
namespace {

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

std::string literal(std::string_view data) {
  std::string out = "{";
  out.append(std::to_string(data.size())).append("}\r\n").append(data);
  return out;
}

constexpr std::string_view capabilities = "IMAP4rev1 AUTH=PLAIN ID ENABLE UNSELECT";

class ImapSession final : public Session {
 public:
  ImapSession(const starttls::Learned& handed_over, Options options)
      : Session(handed_over, std::move(options)), command_(detail::max_unauthenticated_command) {}
  std::string_view protocol() const noexcept override { return "imap"; }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
  void command(std::string_view line);
  void authenticate(const std::string& tag, std::string_view response);
  bool mailbox_command(const std::string& tag, const std::string& verb,
                       const std::vector<std::string>& arguments, bool uid);
  void fetch(const std::string& tag, const std::vector<std::string>& arguments, bool uid);

  detail::CommandAssembler command_;  // literals quoted in
  std::string sasl_tag_;              // an AUTHENTICATE waiting for its response
  bool authenticated_ = false;
  bool selected_ = false;
  std::size_t errors_ = 0;
};

std::size_t ImapSession::on_receive(std::string_view bytes) {
  if (command_.in_literal()) return command_.add_literal(bytes);
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == starttls::Next::failed) send("* BYE line too long\r\n");
    return used;
  }
  if (!sasl_tag_.empty()) {
    authenticate(std::exchange(sasl_tag_, std::string()), *line);
    return used;
  }
  command_.limit(authenticated_ ? options_.max_message : detail::max_unauthenticated_command);
  bool synchronizing = false;
  switch (command_.add_line(*line, synchronizing)) {
    case detail::CommandAssembler::Line::too_large:
      send("* BYE command too large\r\n");
      fail(errc::line_too_long, "imap: the client sent a command larger than " +
                                    std::to_string(command_.limit()) + " bytes" +
                                    (authenticated_ ? "" : " before logging in"));
      break;
    case detail::CommandAssembler::Line::literal_follows:
      if (synchronizing) send("+ Ready for literal data\r\n");
      break;
    case detail::CommandAssembler::Line::complete:
      command(command_.take());
      break;
  }
  return used;
}

void ImapSession::command(std::string_view line) {
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
      send("* CAPABILITY " + std::string(capabilities) + "\r\n" + tag +
           " OK CAPABILITY completed\r\n");
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
      send(tag + (learned_.tls ? " BAD TLS is already active\r\n"
                               : " BAD this session went on in plaintext\r\n"));
      return;
    }
    if (verb == "ID") {
      send("* ID (\"name\" \"uptls\")\r\n" + tag + " OK ID completed\r\n");
      return;
    }
    if (verb == "AUTHENTICATE") {
      if (arguments.empty() || !detail::iequals(arguments[0], "PLAIN")) {
        send(tag + " NO [CANNOT] only PLAIN\r\n");
      } else if (arguments.size() > 1) {
        authenticate(tag, arguments[1]);
      } else {
        sasl_tag_ = tag;
        send("+ \r\n");
      }
      return;
    }
    if (verb == "LOGIN") {
      if (arguments.size() != 2) {
        send(tag + " BAD LOGIN takes a user name and a password\r\n");
      } else {
        authenticated_ = true;
        log("imap login as " + arguments[0]);
        send(tag + " OK [CAPABILITY " + std::string(capabilities) + "] LOGIN completed\r\n");
      }
      return;
    }
    if (authenticated_) {
      if (mailbox_command(tag, verb, arguments, uid)) return;
      send(tag + " BAD unknown command " + verb + "\r\n");
    } else {
      send(tag + " BAD LOGIN first, or the command is unknown\r\n");
    }
  }
  if (++errors_ > 20) {
    send("* BYE too many errors\r\n");
    fail(errc::protocol_error, "imap: the client made too many errors");
  }
}

void ImapSession::authenticate(const std::string& tag, std::string_view response) {
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
  log("imap login as " + *user);
  send(tag + " OK [CAPABILITY " + std::string(capabilities) + "] AUTHENTICATE completed\r\n");
}

bool ImapSession::mailbox_command(const std::string& tag, const std::string& verb,
                                  const std::vector<std::string>& arguments, bool uid) {
  auto completed = [&](std::string_view name) {
    send(tag + " OK " + std::string(name) + " completed\r\n");
  };
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
    fetch(tag, arguments, uid);
  } else {
    return false;
  }
  return true;
}

void ImapSession::fetch(const std::string& tag, const std::vector<std::string>& arguments,
                        bool uid) {
  if (arguments.size() < 2) {
    send(tag + " BAD FETCH takes a sequence set and items\r\n");
    return;
  }
  if (names_message_one(arguments[0])) {
    std::string items = upper(arguments[1]);
    auto has = [&items](std::string_view item) { return items.find(item) != std::string::npos; };
    std::string_view body = sample_message;
    std::size_t split = body.find("\r\n\r\n") + 4;
    std::string parts;
    auto add = [&parts](const std::string& part) { parts += (parts.empty() ? "" : " ") + part; };
    if (uid || has("UID")) add("UID 1");
    if (has("FLAGS") || items == "ALL" || items == "FAST") add("FLAGS (\\Seen)");
    if (has("RFC822.SIZE") || items == "ALL" || items == "FAST") {
      add("RFC822.SIZE " + std::to_string(body.size()));
    }
    if (has("INTERNALDATE") || items == "ALL") add("INTERNALDATE \"23-Nov-2026 00:00:00 +0000\"");
    if (has("BODY[]") || has("BODY.PEEK[]")) {
      add("BODY[] " + literal(body));
    } else if (has("BODY[HEADER]") || has("BODY.PEEK[HEADER]")) {
      add("BODY[HEADER] " + literal(body.substr(0, split)));
    } else if (has("BODY[TEXT]") || has("BODY.PEEK[TEXT]")) {
      add("BODY[TEXT] " + literal(body.substr(split)));
    } else if (has("RFC822.HEADER")) {
      add("RFC822.HEADER " + literal(body.substr(0, split)));
    } else if (has("RFC822") && !has("RFC822.SIZE")) {
      add("RFC822 " + literal(body));
    }
    send("* 1 FETCH (" + parts + ")\r\n");
  }
  send(tag + " OK " + std::string(uid ? "UID " : "") + "FETCH completed\r\n");
}

}  // namespace

std::unique_ptr<starttls::Dialogue> imap_session(const starttls::Learned& handed_over,
                                                 Options options) {
  return std::make_unique<ImapSession>(handed_over, std::move(options));
}

}  // namespace uptls::sessions
