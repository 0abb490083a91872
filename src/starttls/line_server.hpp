#pragma once
// The shape of the line-protocol server dialogues (SMTP, LMTP, POP3, NNTP,
// FTP): a greeting, then each command line looked up in one table of verbs.
// A verb's entry says whether it may come before TLS: one list per protocol,
// read by both policies, so that what a required server refuses is exactly
// what an opportunistic one leaves unread for the application.

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

template <typename Server>
class LineServer : public Dialogue {
 public:
  /// A verb and its handler; no handler: it needs TLS (refused before it).
  struct Verb {
    std::string_view name;
    void (Server::*handler)(const Command&) = nullptr;
  };

 protected:
  LineServer(ServerDialogueOptions options, LineReplies replies, std::span<const Verb> verbs,
             Unlisted unlisted)
      : Dialogue(Role::server, options.max_line),
        options_(std::move(options)),
        replies_(std::move(replies)),
        verbs_(verbs),
        unlisted_(unlisted) {}

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
    const Verb* entry = find(verb);
    if (!entry || !entry->handler) {
      bool needs_tls = entry || unlisted_ == Unlisted::need_tls;
      if (needs_tls && options_.policy == Policy::opportunistic) {
        // Plaintext was allowed: the application serves this command.
        finish();
        return 0;
      }
      refuse(needs_tls ? replies_.needs_tls : replies_.unknown);
      return used;
    }
    (static_cast<Server&>(*this).*entry->handler)(Command{verb, argument, bytes.substr(used)});
    return used;
  }

  const Verb* find(std::string_view verb) const {
    for (const Verb& candidate : verbs_) {
      if (detail::iequals(verb, candidate.name)) return &candidate;
    }
    return nullptr;
  }

  LineReplies replies_;
  std::span<const Verb> verbs_;
  Unlisted unlisted_;
  std::size_t errors_ = 0;
};

}  // namespace uptls::starttls
