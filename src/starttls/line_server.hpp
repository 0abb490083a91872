#pragma once
// The server dialogues whose commands are verbs (SMTP, LMTP, POP3, NNTP,
// FTP, IMAP, ManageSieve): each looks its verbs up in one table, whose
// entry says whether the verb may come before TLS. One list per protocol,
// read by both policies, so that what a required server refuses is exactly
// what an opportunistic one leaves unread for the application. The line
// protocols read a command a line at a time (LineServer, here); IMAP and
// ManageSieve read literals too (LiteralServer, literal_server.hpp).

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "starttls/command.hpp"
#include "uptls/starttls.hpp"
#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// One command, its verb apart.
struct Command {
  std::string_view verb;
  std::string_view argument;
  /// What came after the command in the same read (pipelined after it).
  std::string_view rest;
  /// The command's tag (IMAP), or empty.
  std::string_view tag = {};
};

/// Which verbs the table does not list are: unknown (SMTP, POP3), or
/// commands that need TLS (NNTP and FTP refuse all but a few before TLS).
enum class Unlisted { unknown, need_tls };

/// A verb and its handler; no handler: it needs TLS (refused before it).
template <typename Server>
struct Verb {
  std::string_view name;
  void (Server::*handler)(const Command&) = nullptr;
};

/// What the table makes of a verb.
enum class Verdict { served, needs_tls, unknown };

/// What the verb servers share: the table, and the count of refusals.
template <typename Server>
class VerbServer : public Dialogue {
 protected:
  /// @param too_many the reply after the 21st refusal (the dialogue then
  ///   fails: a client that only probes).
  VerbServer(ServerDialogueOptions options, std::span<const Verb<Server>> verbs, Unlisted unlisted,
             std::string too_many)
      : Dialogue(Role::server, options.max_line),
        options_(std::move(options)),
        verbs_(verbs),
        unlisted_(unlisted),
        too_many_(std::move(too_many)) {}

  /// What a verb is, and its handler when it is served.
  struct Found {
    Verdict verdict;
    void (Server::*handler)(const Command&) = nullptr;
  };

  Found look_up(std::string_view verb) const {
    for (const Verb<Server>& entry : verbs_) {
      if (!detail::iequals(verb, entry.name)) continue;
      if (entry.handler) return {Verdict::served, entry.handler};
      return {Verdict::needs_tls};
    }
    return {unlisted_ == Unlisted::need_tls ? Verdict::needs_tls : Verdict::unknown};
  }

  /// Whether the application serves this verb instead: it needs TLS, and
  /// plaintext was allowed. The dialogue is then done, the command unread.
  bool hands_over(std::string_view verb) {
    if (options_.policy != Policy::opportunistic || look_up(verb).verdict != Verdict::needs_tls) {
      return false;
    }
    finish();
    return true;
  }

  /// Refuses a command with reply and counts it.
  void refuse(std::string_view reply) {
    send(reply);
    if (++errors_ > 20) {
      send(too_many_);
      fail(errc::protocol_error, std::string(protocol()) + ": the client made too many errors");
    }
  }

  /// Calls a served verb's handler.
  void serve(void (Server::*handler)(const Command&), const Command& command) {
    (static_cast<Server&>(*this).*handler)(command);
  }

  void on_end_of_input() override { peer_left(); }

  ServerDialogueOptions options_;

 private:
  std::span<const Verb<Server>> verbs_;
  Unlisted unlisted_;
  std::string too_many_;
  std::size_t errors_ = 0;
};

/// The replies a line server makes by itself, each a whole reply with CRLF.
struct LineReplies {
  /// To a line over the limit (the dialogue then fails).
  std::string too_long;
  /// To a verb that needs TLS, before TLS (SMTP's 530: RFC 3207 §4).
  std::string needs_tls;
  /// To a verb not in the table.
  std::string unknown;
  /// After the 21st refusal (the dialogue then fails).
  std::string too_many;
};

/// A greeting, then each command line's verb looked up in the table.
template <typename Server>
class LineServer : public VerbServer<Server> {
 public:
  using Verb = starttls::Verb<Server>;

 protected:
  using Base = VerbServer<Server>;

  LineServer(ServerDialogueOptions options, LineReplies replies, std::span<const Verb> verbs,
             Unlisted unlisted)
      : Base(std::move(options), verbs, unlisted, replies.too_many), replies_(std::move(replies)) {}

 private:
  std::size_t on_receive(std::string_view bytes) final {
    std::size_t used = 0;
    auto line = this->take_line(bytes, used);
    if (!line) {
      if (this->next() == Next::failed) this->send(replies_.too_long);
      return used;
    }
    auto [verb, argument] = detail::split_command(*line);
    if (this->hands_over(verb)) return 0;
    auto [verdict, handler] = this->look_up(verb);
    if (verdict == Verdict::served) {
      this->serve(handler, Command{verb, argument, bytes.substr(used)});
    } else {
      this->refuse(verdict == Verdict::needs_tls ? replies_.needs_tls : replies_.unknown);
    }
    return used;
  }

  LineReplies replies_;
};

}  // namespace uptls::starttls
