#pragma once
// The shape of the IMAP and ManageSieve server dialogues: a command may
// carry literals (`{n}` and `{n+}`), so it is read whole
// (detail::CommandAssembler, bounded before TLS) before its verb, behind
// IMAP's tag, is looked up in the protocol's table (line_server.hpp).

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "starttls/line_server.hpp"
#include "starttls/literal.hpp"

namespace uptls::starttls {

/// The replies a literal server makes by itself, each whole with CRLF. The
/// command's tag (IMAP) and a space go before needs_tls and unknown.
struct LiteralReplies {
  /// To a line over the limit, or a command over it (the dialogue then fails).
  std::string too_long;
  std::string too_large;
  /// To a synchronizing literal (IMAP's `+`); empty: none (ManageSieve).
  std::string literal_go_ahead;
  /// To a verb that needs TLS, before TLS; to a verb not in the table.
  std::string needs_tls;
  std::string unknown;
  /// To a command without a verb.
  std::string malformed;
  /// After the 21st refusal (the dialogue then fails).
  std::string too_many;
};

template <typename Server>
class LiteralServer : public VerbServer<Server> {
 protected:
  using Base = VerbServer<Server>;

  /// @param tagged whether a command begins with a tag (IMAP).
  LiteralServer(ServerDialogueOptions options, LiteralReplies replies,
                std::span<const Verb<Server>> verbs, bool tagged)
      : Base(std::move(options), verbs, Unlisted::unknown, replies.too_many),
        replies_(std::move(replies)),
        tagged_(tagged),
        command_(detail::max_unauthenticated_command) {}

 private:
  std::size_t on_receive(std::string_view bytes) final {
    if (command_.in_literal()) return command_.add_literal(bytes);
    std::size_t used = 0;
    auto line = this->take_line(bytes, used);
    if (!line) {
      if (this->next() == Next::failed) this->send(replies_.too_long);
      return used;
    }
    if (command_.empty() && this->hands_over(verb_of(detail::tokens(*line)))) return 0;
    bool synchronizing = false;
    switch (command_.add_line(*line, synchronizing)) {
      case detail::CommandAssembler::Line::too_large:
        this->send(replies_.too_large);
        this->fail(errc::line_too_long, std::string(this->protocol()) +
                                            ": the client sent a command larger than " +
                                            std::to_string(command_.limit()) + " bytes before TLS");
        break;
      case detail::CommandAssembler::Line::literal_follows:
        if (synchronizing) this->send(replies_.literal_go_ahead);
        break;
      case detail::CommandAssembler::Line::complete:
        command(command_.take(), bytes.substr(used));
        break;
    }
    return used;
  }

  void command(std::string_view line, std::string_view rest) {
    auto words = detail::tokens(line);
    std::string_view verb = verb_of(words);
    if (verb.empty()) {
      this->refuse(replies_.malformed);
      return;
    }
    std::string tag = tagged_ ? words[0] : std::string();
    auto [verdict, handler] = this->look_up(verb);
    if (verdict == Verdict::served) {
      this->serve(handler, Command{verb, {}, rest, tag});
      return;
    }
    this->refuse((tagged_ ? tag + " " : std::string()) +
                 (verdict == Verdict::needs_tls ? replies_.needs_tls : replies_.unknown));
  }

  std::string_view verb_of(const std::vector<std::string>& words) const {
    std::size_t at = tagged_ ? 1 : 0;
    return words.size() > at ? std::string_view(words[at]) : std::string_view();
  }

  LiteralReplies replies_;
  bool tagged_;
  detail::CommandAssembler command_;
};

}  // namespace uptls::starttls
