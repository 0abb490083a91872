#pragma once
// Peer bytes as they may appear in a message: quoted, every byte that is not
// printable ASCII escaped, so a peer cannot put control sequences into a
// terminal or a log line.

#include <cstddef>
#include <string>
#include <string_view>

namespace uptls::detail {

/// bytes in double quotes, escaped (\r, \n, \t, \", \\, \xNN), cut after
/// max_bytes with "..." after the closing quote.
inline std::string printable(std::string_view bytes, std::size_t max_bytes = 64) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        }
    }
  }
  out += '"';
  if (bytes.size() > max_bytes) out += "...";
  return out;
}

}  // namespace uptls::detail
