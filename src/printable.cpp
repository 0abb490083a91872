#include "uptls/printable.hpp"

namespace uptls {

namespace {

std::string escape(std::string_view bytes, bool backslash) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (char byte : bytes) {
    auto c = static_cast<unsigned char>(byte);
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
      case '\\':
        out += backslash ? "\\\\" : "\\";
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
  return out;
}

}  // namespace

std::string escape_nonprintable(std::string_view bytes) { return escape(bytes, true); }

std::string escape_control(std::string_view text) { return escape(text, false); }

std::string name_peer_once(std::string_view text, std::string_view peer) {
  constexpr std::string_view replacement = "the peer";
  std::string named(text);
  if (peer.empty()) return named;
  // Past each replacement: the replacement may contain peer itself.
  for (auto at = named.find(peer); at != std::string::npos;
       at = named.find(peer, at + replacement.size())) {
    named.replace(at, peer.size(), replacement);
  }
  return named;
}

}  // namespace uptls
