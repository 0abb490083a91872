// libFuzzer target: the pure HTTP/1.1 parser (uptls/http.hpp). A decision
// taken on a prefix of a head (done, invalid, too large) must be the one
// taken on all the bytes, and a head found must parse again on its own;
// framing either answers or refuses with protocol_error; a chunked body fed
// in pieces must end where it ends when fed whole, and data_remaining must
// never send a reader past its end: what the proxy relies on when bytes
// arrive a few at a time.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "uptls/error.hpp"
#include "uptls/http.hpp"

namespace {

using uptls::http::BodyKind;
using uptls::http::ChunkedScanner;
using uptls::http::Field;
using uptls::http::Fields;
using uptls::http::Framing;
using uptls::http::Limits;
using uptls::http::Outcome;
using uptls::http::Parse;
using uptls::http::Request;
using uptls::http::Response;

// Every prefix up to here is parsed, then one in sparse_step: O(n^2) on
// small heads only.
constexpr std::size_t dense_prefixes = 1024;
constexpr std::size_t sparse_step = 61;
// Copies of a scanner checked against data_remaining, per input.
constexpr int max_remaining_checks = 64;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

/// 255: no limit; 254: the default; else byte * scale.
std::size_t limit(std::uint8_t byte, std::size_t fallback, std::size_t scale) {
  if (byte == 255) return SIZE_MAX;
  if (byte == 254) return fallback;
  return byte * scale;
}

bool same(const Fields& a, const Fields& b) {
  return std::equal(
      a.list.begin(), a.list.end(), b.list.begin(), b.list.end(),
      [](const Field& x, const Field& y) { return x.name == y.name && x.value == y.value; });
}

bool same(const Request& a, const Request& b) {
  return a.method == b.method && a.target == b.target && a.minor_version == b.minor_version &&
         same(a.fields, b.fields);
}

bool same(const Response& a, const Response& b) {
  return a.status == b.status && a.reason == b.reason && a.minor_version == b.minor_version &&
         same(a.fields, b.fields);
}

bool same(const Outcome& a, const Outcome& b) {
  return a.parse == b.parse && (a.parse != Parse::done || a.consumed == b.consumed);
}

bool has_line_break(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

/// What the fields of every complete head hold, whatever its bytes.
void check_fields(const Fields& fields, const Limits& limits) {
  require(fields.list.size() <= limits.max_fields);
  for (const Field& field : fields.list) {
    require(!field.name.empty());
    require(field.name.find_first_of(": \t") == std::string::npos && !has_line_break(field.name));
    require(!has_line_break(field.value));
    if (!field.value.empty()) {
      for (char edge : {field.value.front(), field.value.back()}) {
        require(edge != ' ' && edge != '\t');
      }
    }
  }
}

void check_head(const Request& request, const Limits& limits) {
  require(!request.method.empty() && request.method.find(' ') == std::string::npos);
  require(!request.target.empty() && request.target.find(' ') == std::string::npos);
  require(!has_line_break(request.method) && !has_line_break(request.target));
  require(request.minor_version == 0 || request.minor_version == 1);
  check_fields(request.fields, limits);
}

void check_head(const Response& response, const Limits& limits) {
  require(response.status >= 100 && response.status <= 599);
  require(response.minor_version == 0 || response.minor_version == 1);
  require(!has_line_break(response.reason));
  check_fields(response.fields, limits);
}

/// Parses data whole into message, then prefix by prefix: every prefix
/// needs more until the first decision, which is the decision on the whole.
template <typename Message, typename Parser>
Outcome check_parse(std::string_view data, const Limits& limits, Parser parse, Message& message) {
  Outcome whole = parse(data, message);
  require(whole.consumed <= data.size());
  if (whole.parse == Parse::done) {
    // A head ends with its empty line, within max_head.
    require(whole.consumed > 0 && whole.consumed <= limits.max_head);
    require(data[whole.consumed - 1] == '\n');
    check_head(message, limits);
    Message alone;
    Outcome again = parse(data.substr(0, whole.consumed), alone);
    require(again.parse == Parse::done && again.consumed == whole.consumed);
    require(same(alone, message));
  } else if (whole.parse != Parse::need_more) {
    require(!whole.message.empty());
  }

  std::size_t undecided = 0;  // the longest prefix known to need more
  std::size_t end = 0;
  for (;;) {
    Message step_message;
    Outcome step = parse(data.substr(0, end), step_message);
    require(step.consumed <= end);
    if (step.parse == Parse::need_more) {
      if (end == data.size()) {
        require(whole.parse == Parse::need_more);
        return whole;
      }
      undecided = end;
      end = std::min(data.size(), end + (end < dense_prefixes ? 1 : sparse_step));
      continue;
    }
    // Past the dense prefixes, the first decision may lie between samples.
    for (std::size_t k = undecided + 1; k < end; ++k) {
      Message earlier_message;
      Outcome earlier = parse(data.substr(0, k), earlier_message);
      if (earlier.parse != Parse::need_more) {
        step = earlier;
        step_message = earlier_message;
        end = k;
        break;
      }
    }
    require(same(step, whole));
    if (whole.parse == Parse::done) {
      // Decided on the head's last byte, not before.
      require(end == whole.consumed);
      require(same(step_message, message));
    }
    return whole;
  }
}

/// The framing a call answers, or nullopt when it refuses with
/// protocol_error; anything else thrown traps.
template <typename Call>
std::optional<Framing> framing_of(Call call) {
  try {
    Framing framing = call();
    require(framing.kind == BodyKind::length ? framing.length > 0 : framing.length == 0);
    return framing;
  } catch (const uptls::Error& error) {
    require(error.code() == make_error_code(uptls::errc::protocol_error));
    require(*error.what() != '\0');
    return std::nullopt;
  } catch (...) {
    __builtin_trap();
  }
}

void check_request_framing(const Request& request) {
  std::optional<Framing> framing =
      framing_of([&] { return uptls::http::request_framing(request); });
  if (framing) {
    require(framing->kind != BodyKind::until_close);
    if (framing->kind == BodyKind::chunked) {
      require(request.minor_version == 1 && request.fields.find("Transfer-Encoding"));
      require(!request.fields.find("Content-Length"));
    }
    if (framing->kind == BodyKind::length) {
      require(request.fields.find("Content-Length").has_value());
    }
  }
  bool alive = uptls::http::keeps_alive(request, Response(), Framing());
  require(alive == (request.fields.has_token("Connection", "close")
                        ? false
                        : request.minor_version == 1 ||
                              request.fields.has_token("Connection", "keep-alive")));
}

void check_response_framing(const Response& response, const Request& request) {
  for (std::string_view method : {"GET", "HEAD", "CONNECT"}) {
    std::optional<Framing> framing =
        framing_of([&] { return uptls::http::response_framing(response, method); });
    if (!framing) continue;
    int status = response.status;
    if (method == "HEAD" || status < 200 || status == 204 || status == 304 ||
        (method == "CONNECT" && status < 300)) {
      require(framing->kind == BodyKind::none);
    }
    bool alive = uptls::http::keeps_alive(request, response, *framing);
    if (framing->kind == BodyKind::until_close ||
        response.fields.has_token("Connection", "close") ||
        request.fields.has_token("Connection", "close")) {
      require(!alive);
    }
  }
}

/// Feeds body to a ChunkedScanner whole, then in pieces whose sizes come
/// from seed (0: one byte at a time); both must agree.
void check_chunked(std::string_view body, const Limits& limits, std::uint8_t seed) {
  ChunkedScanner whole_scanner(limits);
  Outcome whole = whole_scanner.feed(body);
  switch (whole.parse) {
    case Parse::done:
      // The shortest body is "0\n\n".
      require(whole.consumed >= 3 && whole.consumed <= body.size());
      require(body[whole.consumed - 1] == '\n');
      require(whole_scanner.payload() <= whole.consumed);
      break;
    case Parse::need_more:
      require(whole.consumed == body.size());
      break;
    case Parse::invalid:
    case Parse::too_large:
      require(!whole.message.empty());
      break;
  }

  ChunkedScanner pieces(limits);
  std::uint32_t state = seed;
  std::size_t fed = 0;
  int remaining_checks = 0;
  Outcome last;
  while (fed < body.size()) {
    std::size_t n = 1;
    if (seed > 1) {
      state = state * 1103515245u + 12345u;
      n = 1 + (state >> 16) % seed;
    }
    n = std::min(n, body.size() - fed);
    last = pieces.feed(body.substr(fed, n));
    if (last.parse != Parse::need_more) break;
    require(last.consumed == n);
    fed += n;
    std::uint64_t remaining = pieces.data_remaining();
    if (remaining == 0) continue;
    // Reading `remaining` bytes never passes the end of the body: the line
    // end after the chunk, a last chunk and the empty line still follow.
    if (whole.parse == Parse::done) require(fed + remaining + 4 <= whole.consumed);
    if (remaining <= body.size() - fed && remaining_checks++ < max_remaining_checks) {
      ChunkedScanner copy = pieces;
      Outcome data = copy.feed(body.substr(fed, static_cast<std::size_t>(remaining)));
      require(data.parse == Parse::need_more && data.consumed == remaining);
      require(copy.data_remaining() == 0 && copy.payload() == pieces.payload() + remaining);
    }
  }
  require(last.parse == whole.parse);
  if (whole.parse == Parse::done) require(fed + last.consumed == whole.consumed);
  require(pieces.payload() == whole_scanner.payload());
  require(pieces.data_remaining() == whole_scanner.data_remaining());

  // An ended body takes nothing more; a failed one stays failed.
  Outcome after = whole_scanner.feed("0\r\n\r\n");
  if (whole.parse == Parse::done) {
    require(after.parse == Parse::done && after.consumed == 0);
  } else if (whole.parse != Parse::need_more) {
    require(after.parse == whole.parse && after.message == whole.message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 4) return 0;
  // Bytes 0 to 2: max_line, max_head, max_fields (255: no limit, 254: the
  // default); byte 3: the piece sizes for the chunked scanner.
  Limits limits;
  limits.max_line = limit(bytes[0], limits.max_line, 1);
  limits.max_head = limit(bytes[1], limits.max_head, 8);
  limits.max_fields = limit(bytes[2], limits.max_fields, 1);
  std::uint8_t seed = bytes[3];
  std::string_view data(reinterpret_cast<const char*>(bytes) + 4, size - 4);
  if (data.size() > 4096) data = data.substr(0, 4096);

  Request request;
  Outcome request_outcome = check_parse(
      data, limits,
      [&](std::string_view d, Request& r) { return uptls::http::parse_request(d, r, limits); },
      request);
  Response response;
  Outcome response_outcome = check_parse(
      data, limits,
      [&](std::string_view d, Response& r) { return uptls::http::parse_response(d, r, limits); },
      response);

  std::size_t body_start = 0;
  if (request_outcome.parse == Parse::done) {
    check_request_framing(request);
    body_start = request_outcome.consumed;
  } else {
    request = Request();
  }
  if (response_outcome.parse == Parse::done) {
    check_response_framing(response, request);
    body_start = response_outcome.consumed;
  }
  check_chunked(data.substr(body_start), limits, seed);
  return 0;
}
