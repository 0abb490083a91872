#pragma once
// Literals of IMAP and ManageSieve (`{n}` at the end of a line, then n
// bytes of data) and the words of their commands.

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uptls::detail {

/// The length of a literal announced at the end of a line (`{n}`, or
/// `{n+}` for a non-synchronizing one), if there is one.
inline std::optional<std::size_t> trailing_literal(std::string_view line,
                                                   bool* non_sync = nullptr) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  std::size_t open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view digits = line.substr(open + 1, line.size() - open - 2);
  bool plus = !digits.empty() && digits.back() == '+';
  if (plus) digits.remove_suffix(1);
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (non_sync) *non_sync = plus;
  return n;
}

/// text as a quoted string.
inline std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

/// The words of a command: atoms, quoted strings (unquoted), and
/// parenthesized or bracketed groups kept whole (`(UID BODY[])`).
inline std::vector<std::string> tokens(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    std::string token;
    if (text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        token += text[i];
      }
      ++i;
    } else {
      int depth = 0;
      for (; i < text.size() && (depth > 0 || text[i] != ' '); ++i) {
        if (text[i] == '(' || text[i] == '[') ++depth;
        if ((text[i] == ')' || text[i] == ']') && depth > 0) --depth;
        token += text[i];
      }
    }
    out.push_back(std::move(token));
  }
  return out;
}

/// How a client reads a line of responses that may carry literals.
enum class ResponseLine {
  /// The line begins a response.
  starts,
  /// The line goes on with the response before it (after a literal).
  continues,
  /// The line announces a literal larger than the limit.
  too_large,
};

/// Reads a line of responses: notes the literal it announces, whose data
/// is then skipped with skip_literal(), never read as lines.
/// @param due the literal bytes still to skip (set here).
/// @param continued whether the next line goes on with this response.
inline ResponseLine read_response_line(std::string_view line, std::size_t max_literal,
                                       std::size_t& due, bool& continued) {
  bool continuation = std::exchange(continued, false);
  if (auto n = trailing_literal(line)) {
    if (*n > max_literal) return ResponseLine::too_large;
    due = *n;
    continued = true;
  }
  return continuation ? ResponseLine::continues : ResponseLine::starts;
}

/// Skips literal data due from the front of bytes; returns how many.
inline std::size_t skip_literal(std::size_t& due, std::string_view bytes) {
  std::size_t n = std::min(due, bytes.size());
  due -= n;
  return n;
}

/// The largest command a server accepts before the client has logged in:
/// a login needs no more, and an unauthenticated client must not pin
/// megabytes per connection.
constexpr std::size_t max_unauthenticated_command = 64 * 1024;

/// A command that may carry literals, put together line by line: each
/// literal's data is quoted into the command text, so that tokens() reads
/// it as one word, whatever bytes it holds.
class CommandAssembler {
 public:
  /// What a line did to the command.
  enum class Line {
    /// The command is complete: take() it.
    complete,
    /// A literal follows: give its bytes to add_literal().
    literal_follows,
    /// The command would be larger than the limit.
    too_large,
  };

  /// @param max_size the largest command, literals included.
  explicit CommandAssembler(std::size_t max_size) : max_size_(max_size) {}

  /// Sets the largest command, for the commands that start from now on.
  void limit(std::size_t max_size) noexcept {
    if (empty()) max_size_ = max_size;
  }
  /// The largest command accepted now.
  std::size_t limit() const noexcept { return max_size_; }

  /// Adds a line (without its terminator); synchronizing is set when the
  /// line announced a literal the peer waits for a go-ahead to send.
  Line add_line(std::string_view line, bool& synchronizing) {
    bool non_sync = false;
    auto n = trailing_literal(line, &non_sync);
    if (!n) {
      if (command_.size() + line.size() > max_size_) return Line::too_large;
      command_.append(line);
      return Line::complete;
    }
    std::size_t announced = line.size() - line.rfind('{');
    if (*n > max_size_ || command_.size() + line.size() + *n > max_size_) return Line::too_large;
    command_.append(line.substr(0, line.size() - announced));
    literal_ = *n;
    if (literal_ == 0) command_ += "\"\"";
    synchronizing = !non_sync;
    return Line::literal_follows;
  }

  /// Whether literal bytes are due.
  bool in_literal() const noexcept { return literal_ > 0; }

  /// Takes literal bytes from the front of bytes; returns how many.
  std::size_t add_literal(std::string_view bytes) {
    std::size_t n = std::min(literal_, bytes.size());
    data_.append(bytes.substr(0, n));
    literal_ -= n;
    if (literal_ == 0) command_ += quoted(std::exchange(data_, std::string()));
    return n;
  }

  /// Whether nothing of a command has arrived yet.
  bool empty() const noexcept { return command_.empty() && literal_ == 0; }

  /// The complete command; the assembler starts on the next one.
  std::string take() { return std::exchange(command_, std::string()); }

 private:
  std::size_t max_size_;
  std::string command_;
  std::string data_;
  std::size_t literal_ = 0;
};

}  // namespace uptls::detail
