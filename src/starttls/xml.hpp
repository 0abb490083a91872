#pragma once
// Just enough XML for XMPP streams (RFC 6120 §4): the tokens of a stream,
// read incrementally, and whole first-level elements. No DTDs, no entities
// beyond what attribute and text values carry through unread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace uptls::detail {

struct XmlToken {
  enum Kind { start, end, empty, declaration, comment, text } kind = text;
  std::string_view name;  // qualified name of a tag ("stream:features")
  std::string_view raw;   // the whole token
};

enum class XmlScan { ok, need_more, invalid };

/// The token at the front of data.
inline XmlScan next_token(std::string_view data, XmlToken& out) {
  if (data.empty()) return XmlScan::need_more;
  if (data[0] != '<') {
    std::size_t end = data.find('<');
    out.kind = XmlToken::text;
    out.raw = data.substr(0, end);
    out.name = {};
    return XmlScan::ok;
  }
  if (data.substr(0, 4) == "<!--") {
    std::size_t end = data.find("-->");
    if (end == std::string_view::npos) return XmlScan::need_more;
    out = {XmlToken::comment, {}, data.substr(0, end + 3)};
    return XmlScan::ok;
  }
  if (data.size() >= 2 && data[1] == '!') return XmlScan::invalid;  // DTDs are forbidden
  // A tag ends at the first '>' outside quotes.
  char quote = 0;
  std::size_t end = 1;
  for (; end < data.size(); ++end) {
    char c = data[end];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      break;
    } else if (c == '<') {
      return XmlScan::invalid;
    }
  }
  if (end == data.size()) return XmlScan::need_more;
  out.raw = data.substr(0, end + 1);
  std::string_view inner = data.substr(1, end - 1);
  if (!inner.empty() && inner[0] == '?') {
    out.kind = XmlToken::declaration;
    out.name = {};
    return inner.back() == '?' ? XmlScan::ok : XmlScan::invalid;
  }
  out.kind = XmlToken::start;
  if (!inner.empty() && inner[0] == '/') {
    out.kind = XmlToken::end;
    inner.remove_prefix(1);
  } else if (!inner.empty() && inner.back() == '/') {
    out.kind = XmlToken::empty;
    inner.remove_suffix(1);
  }
  std::size_t name_end = inner.find_first_of(" \t\r\n");
  out.name = inner.substr(0, name_end);
  return out.name.empty() ? XmlScan::invalid : XmlScan::ok;
}

/// The size of the balanced element at the front of data (which starts
/// with its start tag), or of the single token there when it is not one.
inline XmlScan element_size(std::string_view data, std::size_t& size) {
  std::size_t at = 0;
  int depth = 0;
  do {
    XmlToken token;
    XmlScan scan = next_token(data.substr(at), token);
    if (scan != XmlScan::ok) return scan;
    if (token.kind == XmlToken::text && at + token.raw.size() == data.size() && depth > 0) {
      return XmlScan::need_more;  // text that may go on
    }
    at += token.raw.size();
    if (token.kind == XmlToken::start) ++depth;
    if (token.kind == XmlToken::end) --depth;
    if (depth < 0) return XmlScan::invalid;
  } while (depth > 0);
  size = at;
  return XmlScan::ok;
}

/// The value of an attribute of a tag (quotes removed, entities not decoded).
inline std::optional<std::string_view> attribute(std::string_view tag, std::string_view name) {
  std::size_t at = 0;
  while ((at = tag.find(name, at)) != std::string_view::npos) {
    bool starts = at > 0 && (tag[at - 1] == ' ' || tag[at - 1] == '\t' || tag[at - 1] == '\n' ||
                             tag[at - 1] == '\r');
    std::size_t after = at + name.size();
    while (after < tag.size() && tag[after] == ' ') ++after;
    if (starts && after < tag.size() && tag[after] == '=') {
      ++after;
      while (after < tag.size() && tag[after] == ' ') ++after;
      if (after < tag.size() && (tag[after] == '"' || tag[after] == '\'')) {
        std::size_t close = tag.find(tag[after], after + 1);
        if (close == std::string_view::npos) return std::nullopt;
        return tag.substr(after + 1, close - after - 1);
      }
    }
    at = after;
  }
  return std::nullopt;
}

/// The local part of a qualified name ("stream:features" -> "features").
/// text escaped for XML character data and attribute values (XML 1.0 §2.4,
/// §3.1): what a peer said never becomes markup when it is reflected.
inline std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

inline std::string_view local_name(std::string_view name) {
  std::size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

}  // namespace uptls::detail
