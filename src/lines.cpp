#include "uptls/lines.hpp"

namespace uptls {

Match find_line(std::string_view data, std::size_t max_length, std::size_t from) noexcept {
  Match match;
  if (from > data.size()) from = data.size();
  if (auto end = data.find('\n', from); end != std::string_view::npos) {
    std::size_t length = end > 0 && data[end - 1] == '\r' ? end - 1 : end;
    if (length > max_length) {
      match.scan = Scan::too_long;
      return match;
    }
    match.scan = Scan::found;
    match.length = length;
    match.consumed = end + 1;
    return match;
  }
  // One byte of slack: a line of exactly max_length may still need its CR.
  // Written as a difference so that max_length may be SIZE_MAX.
  if (data.size() > max_length && data.size() - max_length > 1) {
    match.scan = Scan::too_long;
    return match;
  }
  match.resume = data.size();
  return match;
}

Match find_delimited(std::string_view data, std::string_view delimiter, std::size_t max_length,
                     std::size_t from) noexcept {
  Match match;
  if (delimiter.empty()) {
    match.scan = Scan::found;
    return match;
  }
  if (from > data.size()) from = data.size();
  if (auto pos = data.find(delimiter, from); pos != std::string_view::npos) {
    std::size_t length = pos + delimiter.size();
    if (length > max_length) {
      match.scan = Scan::too_long;
      return match;
    }
    match.scan = Scan::found;
    match.length = match.consumed = length;
    return match;
  }
  if (data.size() >= max_length) {
    match.scan = Scan::too_long;
    return match;
  }
  // The delimiter may begin in the last delimiter.size() - 1 bytes.
  match.resume = data.size() >= delimiter.size() ? data.size() - delimiter.size() + 1 : 0;
  return match;
}

}  // namespace uptls
