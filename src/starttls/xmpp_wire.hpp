#pragma once
// XMPP's namespaces and elements (RFC 6120), shared by the dialogues and the sessions of uptls
// serve.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "printable.hpp"
#include "starttls/xml.hpp"
#include "uptls/error.hpp"

namespace uptls::detail::xmpp {

constexpr std::string_view tls_ns = "urn:ietf:params:xml:ns:xmpp-tls";
constexpr std::string_view sasl_ns = "urn:ietf:params:xml:ns:xmpp-sasl";
constexpr std::string_view bind_ns = "urn:ietf:params:xml:ns:xmpp-bind";
constexpr std::string_view streams_ns = "http://etherx.jabber.org/streams";
constexpr std::size_t max_element = 64 * 1024;

/// What a stream offers: the names of the children of <stream:features>,
/// with the mechanisms listed after "mechanisms".
inline std::vector<std::string> features_of(std::string_view element) {
  std::vector<std::string> out;
  std::size_t at = 0;
  int depth = 0;
  bool in_mechanism = false;
  for (;;) {
    detail::XmlToken token;
    if (detail::next_token(element.substr(at), token) != detail::XmlScan::ok) break;
    at += token.raw.size();
    std::string_view local = detail::local_name(token.name);
    if (token.kind == detail::XmlToken::start || token.kind == detail::XmlToken::empty) {
      if (depth == 1 && out.size() < 100) out.emplace_back(local);
      in_mechanism = depth == 2 && local == "mechanism" && token.kind == detail::XmlToken::start;
      if (token.kind == detail::XmlToken::start) ++depth;
    } else if (token.kind == detail::XmlToken::end) {
      --depth;
      in_mechanism = false;
    } else if (token.kind == detail::XmlToken::text && in_mechanism && !out.empty()) {
      out.back() += " " + std::string(token.raw);
    }
    if (at >= element.size()) break;
  }
  return out;
}

/// The text of the first element named name inside element, if any.
inline std::string text_of(std::string_view element, std::string_view name) {
  std::size_t at = 0;
  bool inside = false;
  for (;;) {
    detail::XmlToken token;
    if (detail::next_token(element.substr(at), token) != detail::XmlScan::ok) return {};
    at += token.raw.size();
    if (token.kind == detail::XmlToken::start && detail::local_name(token.name) == name) {
      inside = true;
    } else if (inside && token.kind == detail::XmlToken::text) {
      return std::string(token.raw);
    } else if (inside) {
      return {};
    }
    if (at >= element.size()) return {};
  }
}

/// The first tag of an element (its start tag, with the attributes).
inline std::string_view start_tag(std::string_view element) {
  return element.substr(0, element.find('>') + 1);
}

/// What a server reads next from a client's stream.
struct Unit {
  enum Kind {
    /// Nothing complete yet.
    need_more,
    /// Skipped: text, a comment, the XML declaration (size bytes).
    skip,
    /// The stream header (the start tag, size bytes).
    header,
    /// The end of the stream (size bytes).
    end,
    /// A complete top-level element (size bytes).
    element,
    /// Not what a stream may hold: stream_error and problem say why.
    failed,
  };
  Kind kind = need_more;
  std::size_t size = 0;
  /// header: the start tag; element: the element.
  std::string_view raw;
  /// The local name of the header's or element's tag.
  std::string_view name;
  /// failed: the stream error's condition and text, and the failure.
  std::string_view condition;
  std::string_view text;
  errc code = errc::protocol_error;
  std::string problem;
};

/// Reads the unit at the front of a client's stream.
/// @param bytes what the client sent and is not consumed.
/// @param in_stream whether the stream header was read.
inline Unit read_unit(std::string_view bytes, bool in_stream) {
  Unit unit;
  auto too_long = [&unit](std::string_view what) {
    unit.kind = Unit::failed;
    unit.condition = "policy-violation";
    unit.text = "element too long";
    unit.code = errc::line_too_long;
    unit.problem = "the client sent " + std::string(what) + " longer than the limit";
  };
  auto malformed = [&unit](std::string problem) {
    unit.kind = Unit::failed;
    unit.condition = "not-well-formed";
    unit.text = "malformed XML";
    unit.problem = std::move(problem);
  };
  XmlToken token;
  auto scan = next_token(bytes, token);
  if (scan == XmlScan::need_more) {
    if (bytes.size() > max_element) too_long("an XML token");
    return unit;
  }
  if (scan == XmlScan::invalid) {
    malformed("the client sent malformed XML (" + printable(bytes) + ")");
    return unit;
  }
  unit.name = local_name(token.name);
  unit.raw = token.raw;
  unit.size = token.raw.size();
  if (token.kind == XmlToken::text || token.kind == XmlToken::comment ||
      token.kind == XmlToken::declaration) {
    unit.kind = Unit::skip;
  } else if (!in_stream) {
    if (token.kind == XmlToken::start && unit.name == "stream") {
      unit.kind = Unit::header;
    } else {
      malformed("the client did not open a stream (" + printable(token.raw) + ")");
      unit.text = "open a stream first";
    }
  } else if (token.kind == XmlToken::end) {
    unit.kind = Unit::end;
  } else {
    scan = element_size(bytes, unit.size);
    if (scan == XmlScan::need_more) {
      unit = Unit();
      if (bytes.size() > max_element) too_long("an element");
    } else if (scan == XmlScan::invalid) {
      malformed("the client sent malformed XML");
    } else {
      unit.kind = Unit::element;
      unit.raw = bytes.substr(0, unit.size);
    }
  }
  return unit;
}

/// A stream error, and the end of the stream.
inline std::string stream_error(std::string_view condition, std::string_view text) {
  return "<stream:error><" + std::string(condition) +
         " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
         "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>" +
         std::string(text) + "</text></stream:error></stream:stream>";
}

}  // namespace uptls::detail::xmpp
