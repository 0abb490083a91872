#include "uptls/starttls/reply.hpp"

#include "printable.hpp"
#include "uptls/printable.hpp"

namespace uptls::starttls {
namespace {

constexpr std::size_t quote_limit = 300;

bool digit(char c) { return c >= '0' && c <= '9'; }

/// The code of a line that starts with three digits, else -1.
int code_of(std::string_view line) {
  if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2])) return -1;
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

}  // namespace

ReplyReader::ReplyReader(Style style, std::size_t max_lines)
    : style_(style), max_lines_(max_lines) {}

ReplyReader::Status ReplyReader::malformed(std::string message) {
  error_ = std::move(message) + " (" + detail::printable(reply_.quoted, quote_limit) + ")";
  reply_ = Reply();
  open_ = false;
  return Status::malformed;
}

ReplyReader::Status ReplyReader::add(std::string_view line) {
  if (reply_.quoted.size() < quote_limit) {
    if (!reply_.quoted.empty()) reply_.quoted += " / ";
    reply_.quoted += line.substr(0, quote_limit);
  }
  if (reply_.lines.size() >= max_lines_) {
    return malformed("a reply longer than " + std::to_string(max_lines_) + " lines");
  }
  int code = code_of(line);
  char separator = line.size() > 3 ? line[3] : ' ';
  bool well_formed = code >= 100 && (separator == ' ' || separator == '-');
  if (!open_) {
    if (!well_formed) return malformed("not a numeric reply");
    if (style_ == Style::single && separator == '-') {
      return malformed("a continued reply where one line was expected");
    }
    reply_.code = code;
    open_ = true;
  } else if (style_ == Style::smtp) {
    if (!well_formed || code != reply_.code) {
      return malformed("a line of a multi-line reply without its code " +
                       std::to_string(reply_.code));
    }
  } else if (!well_formed || code != reply_.code || separator != ' ') {
    // FTP: free text between the first line and the last.
    reply_.lines.emplace_back(line);
    return Status::more;
  }
  reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
  return separator == '-' ? Status::more : Status::complete;
}

Reply ReplyReader::take() {
  Reply reply = std::move(reply_);
  reply.quoted = escape_nonprintable(reply.quoted);
  reply_ = Reply();
  open_ = false;
  return reply;
}

}  // namespace uptls::starttls
