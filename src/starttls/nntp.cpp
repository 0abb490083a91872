#include "uptls/starttls/nntp.hpp"

#include <algorithm>
#include <ctime>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "starttls/mailbox.hpp"

namespace uptls::starttls {
namespace {

/// The code of a reply line (`382 text`), or -1 when it is not one.
int code_of(std::string_view line) {
  if (line.size() < 3 || (line.size() > 3 && line[3] != ' ')) return -1;
  int code = 0;
  for (char c : line.substr(0, 3)) {
    if (c < '0' || c > '9') return -1;
    code = code * 10 + (c - '0');
  }
  return code;
}

constexpr std::string_view group = "uptls.test";

}  // namespace

// ---- client ---------------------------------------------------------------

NntpClient::NntpClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {}

std::string_view NntpClient::protocol() const noexcept { return "nntp"; }

std::size_t NntpClient::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) return used;
  if (state_ == State::list || state_ == State::list_tls) {
    if (*line == ".") {
      on_capabilities();
    } else if (capabilities_.size() >= options_.max_reply_lines) {
      fail(errc::protocol_error, "nntp: the server sent more than " +
                                     std::to_string(options_.max_reply_lines) + " capabilities");
    } else {
      std::string_view capability = *line;
      if (!capability.empty() && capability[0] == '.') capability.remove_prefix(1);
      capabilities_.emplace_back(capability);
    }
    return used;
  }
  on_reply(*line);
  return used;
}

void NntpClient::on_reply(std::string_view line) {
  std::string quote = detail::printable(line, 300);
  int code = code_of(line);
  if (code < 0) {
    fail(errc::protocol_error, "nntp: the server sent " + quote + " where a reply was due");
    return;
  }
  switch (state_) {
    case State::greeting:
      if (code != 200 && code != 201) {
        fail(errc::protocol_error, "nntp: the server refused the session: " + quote);
        return;
      }
      learned_.greeting = std::string(line.substr(std::min<std::size_t>(4, line.size())));
      send("CAPABILITIES\r\n");
      state_ = State::capabilities;
      return;
    case State::capabilities:
    case State::capabilities_tls:
      if (code != 101) {
        if (state_ == State::capabilities) {
          unavailable(
              options_.policy,
              "the server does not list its capabilities, so it offers no STARTTLS: " + quote);
        } else {
          fail(errc::protocol_error, "nntp: the server refused CAPABILITIES over TLS: " + quote);
        }
        return;
      }
      capabilities_.clear();
      state_ = state_ == State::capabilities ? State::list : State::list_tls;
      return;
    case State::starttls:
      if (code != 382) {
        unavailable(options_.policy, "the server refused STARTTLS: " + quote);
        return;
      }
      upgrade();
      return;
    case State::list:
    case State::list_tls:
      return;
  }
}

void NntpClient::on_capabilities() {
  learned_.capabilities = capabilities_;
  if (state_ == State::list_tls) {
    finish();
    return;
  }
  if (!offers(options_.policy, capabilities_, "STARTTLS")) return;
  send("STARTTLS\r\n");
  state_ = State::starttls;
}

void NntpClient::on_tls() {
  // RFC 4642 §2.2.2: the client discards what it knew and asks again.
  capabilities_.clear();
  learned_.capabilities.clear();
  send("CAPABILITIES\r\n");
  state_ = State::capabilities_tls;
}

// ---- server ---------------------------------------------------------------

NntpServer::NntpServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)) {
  send("200 " + options_.host_name + " NNTP uptls ready (posting ok, articles are discarded)\r\n");
}

std::string_view NntpServer::protocol() const noexcept { return "nntp"; }

std::size_t NntpServer::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("501 line too long; closing\r\n");
    return used;
  }
  if (posting_) {
    if (*line != ".") {
      article_bytes_ += line->size() + 2;
    } else {
      posting_ = false;
      bool too_big = article_bytes_ > options_.max_message;
      if (!too_big && options_.log) {
        options_.log("nntp article of " + std::to_string(article_bytes_) + " bytes, discarded");
      }
      send(too_big ? "441 article too large\r\n" : "240 article received (discarded)\r\n");
    }
    return used;
  }
  if (!learned_.tls && options_.policy == Policy::opportunistic && !options_.session &&
      detail::verb_is_one_of(*line, {"AUTHINFO"})) {
    // Plaintext was allowed: the application serves this command.
    finish();
    return 0;
  }
  command(*line, bytes.substr(used));
  return used;
}

void NntpServer::command(std::string_view line, std::string_view rest) {
  auto [verb_part, argument] = detail::split_command(line);
  std::string_view verb = verb_part;
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  if (is("CAPABILITIES")) {
    send(std::string(
             "101 Capability list:\r\nVERSION 2\r\nREADER\r\nPOST\r\nLIST ACTIVE\r\nOVER\r\n") +
         (learned_.tls ? "AUTHINFO USER\r\n" : "STARTTLS\r\n") + "IMPLEMENTATION uptls\r\n.\r\n");
    return;
  }
  if (is("STARTTLS")) {
    if (learned_.tls) {
      send("502 TLS is already active\r\n");
    } else {
      accept_starttls(rest, "382 Continue with TLS negotiation\r\n",
                      "580 command pipelined after STARTTLS; closing\r\n");
    }
    return;
  }
  if (is("QUIT")) {
    send("205 closing connection\r\n");
    finish();
    return;
  }
  if (is("AUTHINFO")) {
    auto [kind, value] = detail::split_command(argument);
    if (!learned_.tls && options_.policy == Policy::required) {
      send("483 TLS is required: STARTTLS first\r\n");
    } else if (detail::iequals(kind, "USER") && !value.empty()) {
      user_ = std::string(value);
      send("381 send AUTHINFO PASS\r\n");
    } else if (detail::iequals(kind, "PASS") && !user_.empty()) {
      if (options_.log) options_.log("nntp login as " + user_);
      send("281 authentication accepted\r\n");
    } else {
      send("482 AUTHINFO USER name, then AUTHINFO PASS password\r\n");
    }
    return;
  }
  if (options_.session && (learned_.tls || options_.policy == Policy::opportunistic) &&
      reading(verb, argument)) {
    return;
  }
  send(!learned_.tls && options_.policy == Policy::required
           ? "483 TLS is required: STARTTLS first\r\n"
           : "500 unknown command\r\n");
  if (++errors_ > 20) {
    send("400 too many errors; closing\r\n");
    fail(errc::protocol_error, "nntp: the client made too many errors");
  }
}

bool NntpServer::reading(std::string_view verb, std::string_view argument) {
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  std::string_view article = detail::sample_message;
  std::size_t split = article.find("\r\n\r\n") + 4;
  std::string id = "<1@uptls.localhost>";
  bool one = argument.empty() ? selected_ : (argument == "1" || argument == id);
  if (is("MODE")) {
    send("200 reader mode, posting ok\r\n");
  } else if (is("DATE")) {
    // RFC 3977 §7.1: the server's current time, in UTC.
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "111 %Y%m%d%H%M%S\r\n", &utc);
    send(text);
  } else if (is("LIST")) {
    send("215 list of newsgroups follows\r\n" + std::string(group) + " 1 1 n\r\n.\r\n");
  } else if (is("NEWGROUPS") || is("NEWNEWS")) {
    send(std::string(is("NEWGROUPS") ? "231" : "230") + " list follows\r\n.\r\n");
  } else if (is("GROUP")) {
    if (!detail::iequals(argument, group)) {
      send("411 no such newsgroup\r\n");
    } else {
      selected_ = true;
      send("211 1 1 1 " + std::string(group) + "\r\n");
    }
  } else if (is("ARTICLE") || is("HEAD") || is("BODY") || is("STAT")) {
    if (!one) {
      send(selected_ ? "423 no article with that number\r\n" : "412 no newsgroup selected\r\n");
    } else if (is("STAT")) {
      send("223 1 " + id + "\r\n");
    } else if (is("HEAD")) {
      send("221 1 " + id + "\r\n" + detail::dot_stuffed(article.substr(0, split - 2)) + ".\r\n");
    } else if (is("BODY")) {
      send("222 1 " + id + "\r\n" + detail::dot_stuffed(article.substr(split)) + ".\r\n");
    } else {
      send("220 1 " + id + "\r\n" + detail::dot_stuffed(article) + ".\r\n");
    }
  } else if (is("OVER") || is("XOVER")) {
    if (!selected_) {
      send("412 no newsgroup selected\r\n");
    } else {
      send(
          "224 overview follows\r\n1\tHello from uptls\tuptls <uptls@localhost>\t"
          "Mon, 23 Nov 2026 00:00:00 +0000\t" +
          id + "\t\t" + std::to_string(article.size()) + "\t1\r\n.\r\n");
    }
  } else if (is("POST")) {
    posting_ = true;
    article_bytes_ = 0;
    send("340 send the article; end with <CR-LF>.<CR-LF>\r\n");
  } else {
    return false;
  }
  return true;
}

void NntpServer::on_tls() {
  selected_ = false;
  user_.clear();
  if (!options_.session) finish();
}

void NntpServer::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
