#pragma once
/// @file
/// Numeric replies, pure: SMTP and LMTP (`250-...` lines, then `250 ...`),
/// FTP (`220-` first, any lines, then `220 `), NNTP and the like (one line).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "uptls/export.hpp"

namespace uptls::starttls {

/// A complete numeric reply.
struct Reply {
  /// The three-digit code.
  int code = 0;
  /// The text of each line, after the code and its separator.
  std::vector<std::string> lines;
  /// The reply as the peer sent it, for messages: its lines joined by " / ",
  /// control bytes escaped, cut after a few hundred bytes.
  std::string quoted;
};

/// Collects the lines of one numeric reply.
class UPTLS_API ReplyReader {
 public:
  /// How a reply spans lines.
  enum class Style {
    /// RFC 5321 §4.2: every line starts with the code; `-` continues, a
    /// space or nothing ends.
    smtp,
    /// RFC 959 §4.2: `DDD-` starts a multi-line reply, which ends at a line
    /// starting `DDD ` with the same code; lines between are free text.
    ftp,
    /// One line: `DDD text` (NNTP, RFC 3977).
    single,
  };
  /// What add() made of a line.
  enum class Status {
    /// The reply goes on.
    more,
    /// The reply is complete: take() it.
    complete,
    /// The line does not belong to a numeric reply; error() says why.
    malformed,
  };

  /// @param style how replies span lines.
  /// @param max_lines the most lines one reply may have.
  explicit ReplyReader(Style style, std::size_t max_lines = 1000);

  /// Adds the next line (without its terminator).
  Status add(std::string_view line);
  /// The complete reply; the reader starts on the next one.
  Reply take();
  /// Why add() said malformed.
  const std::string& error() const noexcept { return error_; }

 private:
  Status malformed(std::string message);

  Style style_;
  std::size_t max_lines_;
  Reply reply_;
  bool open_ = false;
  std::string error_;
};

}  // namespace uptls::starttls
