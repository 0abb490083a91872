#pragma once
// Peer bytes as they may appear in a message: quoted, escaped, and cut.

#include <cstddef>
#include <string>
#include <string_view>

#include "uptls/printable.hpp"

namespace uptls::detail {

/// bytes in double quotes, escaped as escape_nonprintable does (and `\"`),
/// cut after max_bytes with "..." after the closing quote.
inline std::string printable(std::string_view bytes, std::size_t max_bytes = 64) {
  std::string quoted;
  for (char c : escape_nonprintable(bytes.substr(0, max_bytes))) {
    if (c == '"') quoted += '\\';
    quoted += c;
  }
  return "\"" + quoted + "\"" + (bytes.size() > max_bytes ? "..." : "");
}

}  // namespace uptls::detail
