#pragma once
// The verb tables of the server dialogues, and the shape of the
// line-protocol ones (SMTP, LMTP, POP3, NNTP, FTP): a greeting, then each
// command line looked up in one table of verbs. A verb's entry says whether
// it may come before TLS: one list per protocol, read by both policies, so
// that what a required server refuses is exactly what an opportunistic one
// leaves unread for the application. IMAP and ManageSieve read tagged
// commands and literals themselves, and look their verbs up in a table too.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "starttls/command.hpp"
#include "uptls/starttls.hpp"
#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// One command line, split at its first space.
struct Command {
  std::string_view verb;
  std::string_view argument;
  /// What came after the line in the same read (pipelined after it).
  std::string_view rest;
  /// The command's tag (IMAP), or empty.
  std::string_view tag = {};
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

/// One protocol's verbs.
template <typename Server>
class VerbTable {
 public:
  VerbTable(std::span<const Verb<Server>> verbs, Unlisted unlisted)
      : verbs_(verbs), unlisted_(unlisted) {}

  /// What a verb is, and its handler when it is served.
  struct Found {
    Verdict verdict;
    void (Server::*handler)(const Command&) = nullptr;
  };

  Found look_up(std::string_view verb) const {
    const Verb<Server>* entry = find(verb);
    if (entry && entry->handler) return {Verdict::served, entry->handler};
    return {entry || unlisted_ == Unlisted::need_tls ? Verdict::needs_tls : Verdict::unknown};
  }

 private:
  const Verb<Server>* find(std::string_view verb) const {
    for (const Verb<Server>& candidate : verbs_) {
      if (detail::iequals(verb, candidate.name)) return &candidate;
    }
    return nullptr;
  }

  std::span<const Verb<Server>> verbs_;
  Unlisted unlisted_;
};

template <typename Server>
class LineServer : public Dialogue {
 public:
  using Verb = starttls::Verb<Server>;

 protected:
  LineServer(ServerDialogueOptions options, LineReplies replies, std::span<const Verb> verbs,
             Unlisted unlisted)
      : Dialogue(Role::server, options.max_line),
        options_(std::move(options)),
        replies_(std::move(replies)),
        verbs_(verbs, unlisted) {}

  /// Refuses a command with reply and counts it: too many refusals end the
  /// dialogue (a client that only probes).
  void refuse(std::string_view reply) {
    send(reply);
    if (++errors_ > 20) {
      send(replies_.too_many);
      fail(errc::protocol_error, std::string(protocol()) + ": the client made too many errors");
    }
  }

  void on_end_of_input() override { peer_left(); }

  ServerDialogueOptions options_;

 private:
  std::size_t on_receive(std::string_view bytes) final {
    std::size_t used = 0;
    auto line = take_line(bytes, used);
    if (!line) {
      if (next() == Next::failed) send(replies_.too_long);
      return used;
    }
    auto [verb, argument] = detail::split_command(*line);
    auto [verdict, handler] = verbs_.look_up(verb);
    if (verdict == Verdict::served) {
      (static_cast<Server&>(*this).*handler)(Command{verb, argument, bytes.substr(used)});
      return used;
    }
    if (verdict == Verdict::needs_tls && options_.policy == Policy::opportunistic) {
      // Plaintext was allowed: the application serves this command.
      finish();
      return 0;
    }
    refuse(verdict == Verdict::needs_tls ? replies_.needs_tls : replies_.unknown);
    return used;
  }

  LineReplies replies_;
  VerbTable<Server> verbs_;
  std::size_t errors_ = 0;
};

}  // namespace uptls::starttls
