#include "uptls/http.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "ascii.hpp"
#include "uptls/error.hpp"

namespace uptls::http {
namespace {

using detail::iequals;

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

// Field values: visible characters, spaces, tabs and obs-text; no other
// control characters (a NUL or a bare CR would split the header downstream).
bool is_field_value(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && byte != '\t') || byte == 0x7f;
  });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "HTTP/1.1" -> 1; -1 for anything that is not HTTP/1.x.
int minor_version(std::string_view text) {
  if (text.size() != 8 || text.substr(0, 7) != "HTTP/1." || text[7] < '0' || text[7] > '9') {
    return -1;
  }
  return text[7] == '0' ? 0 : 1;
}

Outcome failure(Parse parse, std::string message) {
  Outcome outcome;
  outcome.parse = parse;
  outcome.message = std::move(message);
  return outcome;
}

// Splits a head into its start line and fields; the start line is handed to
// parse_start, which returns an error message or "".
template <typename ParseStart>
Outcome parse_head(std::string_view data, Fields& fields, const Limits& limits, bool skip_empty,
                   ParseStart parse_start) {
  fields.list.clear();
  std::size_t pos = 0;
  bool have_start = false;
  for (;;) {
    std::size_t end = data.find('\n', pos);
    if (end == std::string_view::npos) {
      // One byte of slack for the CR; written as a difference so that
      // max_line may be SIZE_MAX.
      if (std::size_t partial = data.size() - pos;
          partial > limits.max_line && partial - limits.max_line > 1) {
        return failure(Parse::too_large, "a header line is longer than " +
                                             std::to_string(limits.max_line) + " bytes");
      }
      if (data.size() > limits.max_head) {
        return failure(Parse::too_large,
                       "the head is larger than " + std::to_string(limits.max_head) + " bytes");
      }
      return {};
    }
    std::string_view line = data.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t next = end + 1;
    if (next > limits.max_head) {
      return failure(Parse::too_large,
                     "the head is larger than " + std::to_string(limits.max_head) + " bytes");
    }
    if (line.size() > limits.max_line) {
      return failure(Parse::too_large,
                     "a header line is longer than " + std::to_string(limits.max_line) + " bytes");
    }
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
      return failure(Parse::invalid, "a header line holds a bare CR or a NUL");
    }
    pos = next;
    if (!have_start) {
      if (line.empty() && skip_empty) continue;
      if (std::string message = parse_start(line); !message.empty()) {
        return failure(Parse::invalid, std::move(message));
      }
      have_start = true;
      continue;
    }
    if (line.empty()) {
      Outcome outcome;
      outcome.parse = Parse::done;
      outcome.consumed = pos;
      return outcome;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      return failure(Parse::invalid, "a header field is folded over lines (obs-fold)");
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return failure(Parse::invalid, "a header line has no colon");
    }
    std::string_view name = line.substr(0, colon);
    if (!is_token(name)) {
      return failure(Parse::invalid,
                     "a header field name is empty or holds a space or other "
                     "character a token may not");
    }
    std::string_view value = trim(line.substr(colon + 1));
    if (!is_field_value(value)) {
      return failure(Parse::invalid, "a header field value holds a control character");
    }
    if (fields.list.size() >= limits.max_fields) {
      return failure(Parse::too_large,
                     "more than " + std::to_string(limits.max_fields) + " header fields");
    }
    fields.list.push_back({std::string(name), std::string(value)});
  }
}

[[noreturn]] void refuse(const std::string& message) { throw Error(errc::protocol_error, message); }

// RFC 9112 §6.3: one Content-Length value, repeated identically at most.
std::optional<std::uint64_t> content_length(const Fields& fields) {
  std::optional<std::uint64_t> length;
  for (const auto& field : fields.list) {
    if (!iequals(field.name, "Content-Length")) continue;
    // Every item is checked, an empty value or an empty item too: a
    // Content-Length without a number is bad, not absent.
    std::string_view rest = field.value;
    for (bool last = false; !last;) {
      std::size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      last = comma == std::string_view::npos;
      if (!last) rest = rest.substr(comma + 1);
      std::uint64_t value = 0;
      auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
      if (item.empty() || ec != std::errc() || end != item.data() + item.size() ||
          value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        refuse("Content-Length is not a number: '" + std::string(item) + "'");
      }
      if (length && *length != value) refuse("two different Content-Length values");
      length = value;
    }
  }
  return length;
}

// Whether the last transfer coding is chunked; nullopt without Transfer-Encoding.
std::optional<bool> ends_chunked(const Fields& fields) {
  std::optional<bool> chunked;
  int times = 0;
  for (const auto& field : fields.list) {
    if (!iequals(field.name, "Transfer-Encoding")) continue;
    std::string_view rest = field.value;
    do {
      std::size_t comma = rest.find(',');
      chunked = iequals(trim(rest.substr(0, comma)), "chunked");
      times += *chunked ? 1 : 0;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    } while (!rest.empty());
  }
  // RFC 9112 §6.1: chunked is applied once; twice is a smuggling attempt.
  if (times > 1) refuse("Transfer-Encoding applies chunked more than once");
  return chunked;
}

}  // namespace

std::optional<std::string_view> Fields::find(std::string_view name) const {
  for (const auto& field : list) {
    if (iequals(field.name, name)) return std::string_view(field.value);
  }
  return std::nullopt;
}

bool Fields::has_token(std::string_view name, std::string_view token) const {
  for (const auto& field : list) {
    if (!iequals(field.name, name)) continue;
    std::string_view rest = field.value;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      if (iequals(trim(rest.substr(0, comma)), token)) return true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return false;
}

Outcome parse_request(std::string_view data, Request& request, const Limits& limits) {
  return parse_head(data, request.fields, limits, true, [&](std::string_view line) {
    std::size_t first = line.find(' ');
    std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
      return std::string("the request line is not 'METHOD TARGET HTTP/1.1'");
    }
    std::string_view method = line.substr(0, first);
    std::string_view target = line.substr(first + 1, second - first - 1);
    int minor = minor_version(line.substr(second + 1));
    if (!is_token(method)) return std::string("the method is not a token");
    if (target.empty() || !is_field_value(target) || target.find('\t') != std::string_view::npos) {
      return std::string("the request target is empty or holds a control character");
    }
    if (minor < 0) return std::string("the request is not HTTP/1.0 or HTTP/1.1");
    request.method = method;
    request.target = target;
    request.minor_version = minor;
    return std::string();
  });
}

Outcome parse_response(std::string_view data, Response& response, const Limits& limits) {
  return parse_head(data, response.fields, limits, false, [&](std::string_view line) {
    int minor = minor_version(line.substr(0, 8));
    if (minor < 0 || line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
      return std::string("the status line is not 'HTTP/1.1 CODE REASON'");
    }
    int status = 0;
    auto [end, ec] = std::from_chars(line.data() + 9, line.data() + 12, status);
    if (ec != std::errc() || end != line.data() + 12 || status < 100 || status > 599) {
      return std::string("the status code is not a number from 100 to 599");
    }
    response.minor_version = minor;
    response.status = status;
    response.reason = line.size() > 13 ? line.substr(13) : std::string_view();
    return std::string();
  });
}

Framing request_framing(const Request& request) {
  // A hop that honours Connection drops the field that framed the body and
  // reads the body as the next requests.
  for (std::string_view framing_field : {"Content-Length", "Transfer-Encoding"}) {
    if (request.fields.has_token("Connection", framing_field)) {
      refuse("a request's Connection field names " + std::string(framing_field) +
             ", which frames its body");
    }
  }
  std::optional<bool> chunked = ends_chunked(request.fields);
  std::optional<std::uint64_t> length = content_length(request.fields);
  Framing framing;
  if (chunked) {
    if (length) refuse("a request has both Transfer-Encoding and Content-Length");
    if (!*chunked) refuse("a request's Transfer-Encoding does not end in chunked");
    if (request.minor_version == 0) refuse("an HTTP/1.0 request has Transfer-Encoding");
    framing.kind = BodyKind::chunked;
  } else if (length && *length > 0) {
    framing.kind = BodyKind::length;
    framing.length = *length;
  }
  return framing;
}

Framing response_framing(const Response& response, std::string_view request_method) {
  Framing framing;
  if (request_method == "HEAD" || response.status < 200 || response.status == 204 ||
      response.status == 304 || (request_method == "CONNECT" && response.status < 300)) {
    return framing;
  }
  std::optional<bool> chunked = ends_chunked(response.fields);
  std::optional<std::uint64_t> length = content_length(response.fields);
  if (chunked) {
    if (length) refuse("a response has both Transfer-Encoding and Content-Length");
    framing.kind = *chunked ? BodyKind::chunked : BodyKind::until_close;
  } else if (length) {
    framing.kind = *length > 0 ? BodyKind::length : BodyKind::none;
    framing.length = *length;
  } else {
    framing.kind = BodyKind::until_close;
  }
  return framing;
}

bool keeps_alive(const Request& request, const Response& response, const Framing& response_body) {
  if (response_body.kind == BodyKind::until_close) return false;
  auto persists = [](int minor, const Fields& fields) {
    if (fields.has_token("Connection", "close")) return false;
    return minor >= 1 || fields.has_token("Connection", "keep-alive");
  };
  return persists(request.minor_version, request.fields) &&
         persists(response.minor_version, response.fields);
}

ChunkedScanner::ChunkedScanner(const Limits& limits) : limits_(limits) {}

Outcome ChunkedScanner::fail(Parse parse, std::string message) {
  state_ = State::failed;
  failure_ = failure(parse, std::move(message));
  return failure_;
}

Outcome ChunkedScanner::feed(std::string_view data) {
  if (state_ == State::failed) return failure_;
  std::size_t i = 0;
  while (i < data.size() && state_ != State::done) {
    if (state_ == State::data) {
      std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size() - i));
      i += take;
      payload_ += take;
      remaining_ -= take;
      if (remaining_ == 0) state_ = State::data_end;
      continue;
    }
    char c = data[i++];
    // max_line counts the line without its CRLF, as for heads: room for one
    // byte more, which must be the CR.
    if (c != '\n' && line_.size() <= limits_.max_line) {
      line_.push_back(c);
      continue;
    }
    if (c == '\n' && !line_.empty() && line_.back() == '\r') line_.pop_back();
    if (c != '\n' || line_.size() > limits_.max_line) {
      return fail(Parse::too_large, "a chunk-size or trailer line is longer than " +
                                        std::to_string(limits_.max_line) + " bytes");
    }
    std::string line = std::move(line_);
    line_.clear();
    if (auto outcome = on_line(line, i)) return *outcome;
  }
  Outcome outcome;
  if (state_ == State::done) {
    outcome.parse = Parse::done;
    outcome.consumed = i;
  } else {
    outcome.consumed = data.size();
  }
  return outcome;
}

std::optional<Outcome> ChunkedScanner::on_line(const std::string& line, std::size_t consumed) {
  if (line.find('\r') != std::string::npos) {
    return fail(Parse::invalid, "a chunk line holds a bare CR");
  }
  switch (state_) {
    case State::data_end:
      if (!line.empty()) return fail(Parse::invalid, "a chunk's data is longer than its size");
      state_ = State::size_line;
      return std::nullopt;
    case State::trailer: {
      if (line.empty()) {
        state_ = State::done;
        Outcome outcome;
        outcome.parse = Parse::done;
        outcome.consumed = consumed;
        return outcome;
      }
      if (++trailer_fields_ > limits_.max_fields) {
        return fail(Parse::too_large,
                    "more than " + std::to_string(limits_.max_fields) + " trailer fields");
      }
      if (line.find(':') == std::string::npos || line.front() == ' ' || line.front() == '\t') {
        return fail(Parse::invalid, "a trailer line is not a header field");
      }
      return std::nullopt;
    }
    default:
      return on_size_line(line);
  }
}

std::optional<Outcome> ChunkedScanner::on_size_line(const std::string& line) {
  std::size_t digits = 0;
  std::uint64_t size = 0;
  while (digits < line.size() && std::isxdigit(static_cast<unsigned char>(line[digits]))) {
    if (digits == 15) return fail(Parse::too_large, "a chunk size has over 15 hex digits");
    char d = line[digits++];
    size = size * 16 + static_cast<std::uint64_t>(d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10);
  }
  std::string_view rest = trim(std::string_view(line).substr(digits));
  if (digits == 0 || (!rest.empty() && rest.front() != ';')) {
    return fail(Parse::invalid, "a chunk-size line is not a hexadecimal size");
  }
  if (size == 0) {
    state_ = State::trailer;
  } else {
    remaining_ = size;
    state_ = State::data;
  }
  return std::nullopt;
}

}  // namespace uptls::http
