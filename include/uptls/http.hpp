#pragma once
/// @file
/// A pure HTTP/1.1 message parser (RFC 9112): request and response heads,
/// and where a body ends. No I/O, so a proxy can pass bodies through
/// untouched while knowing their extent, and the parser can be fuzzed.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptls/export.hpp"

namespace uptls::http {

/// How large a head may be.
struct Limits {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// nginx's and Node's orders of magnitude: 8 KiB lines, 64 KiB heads, 100 fields.
  Limits() = default;

  /// The longest request or status line, and the longest field line.
  std::size_t max_line = 8192;
  /// The longest head, start line, fields and the empty line included.
  std::size_t max_head = 65536;
  /// The most fields in a head (or in a chunked body's trailer).
  std::size_t max_fields = 100;
};

/// One header field as it came (the name's case kept).
struct Field {
  /// The field name.
  std::string name;
  /// The value, without the whitespace around it.
  std::string value;
};

/// The fields of a head, in order.
struct UPTLS_API Fields {
  /// Every field, repeated names included.
  std::vector<Field> list;

  /// The first value of the field named name (case-insensitive), if any.
  std::optional<std::string_view> find(std::string_view name) const;
  /// Whether a comma-separated field (Connection, Transfer-Encoding) has
  /// token among its values, case-insensitively, in any of its lines.
  bool has_token(std::string_view name, std::string_view token) const;
};

/// A request head.
struct Request {
  /// GET, CONNECT, ... (case-sensitive, as RFC 9110 has it).
  std::string method;
  /// The request target as sent: "/path", "http://host/path", "host:443", "*".
  std::string target;
  /// 0 for HTTP/1.0, 1 for HTTP/1.1.
  int minor_version = 1;
  /// The header fields.
  Fields fields;
};

/// A response head.
struct Response {
  /// 0 for HTTP/1.0, 1 for HTTP/1.1.
  int minor_version = 1;
  /// The status code, 100 to 599.
  int status = 0;
  /// The reason phrase (may be empty).
  std::string reason;
  /// The header fields.
  Fields fields;
};

/// What a parse of buffered bytes found.
enum class Parse {
  /// A complete head; `consumed` bytes of it.
  done,
  /// Not complete yet and within the limits: read more, parse again.
  need_more,
  /// Not HTTP/1.x, or against RFC 9112 (message says where): answer 400.
  invalid,
  /// Past a limit of Limits (message says which): answer 431 or 400.
  too_large,
};

/// The outcome of parse_request, parse_response or ChunkedScanner::feed.
struct Outcome {
  /// What was found.
  Parse parse = Parse::need_more;
  /// done: the bytes the head took (or the body bytes fed that belong to
  /// the body); the rest belong to what follows.
  std::size_t consumed = 0;
  /// invalid or too_large: why, in a sentence.
  std::string message;
};

/// Parses a request head at the start of data. Lines end in CRLF (a bare
/// LF is accepted, as RFC 9112 §2.2 allows; a bare CR is not). Empty
/// lines before the request line are skipped.
UPTLS_API Outcome parse_request(std::string_view data, Request& request, const Limits& limits = {});

/// Parses a response head at the start of data, as parse_request does.
UPTLS_API Outcome parse_response(std::string_view data, Response& response,
                                 const Limits& limits = {});

/// How the end of a body is found (RFC 9112 §6.3).
enum class BodyKind {
  /// No body.
  none,
  /// Content-Length bytes.
  length,
  /// Chunked transfer coding, ending with the last chunk and its trailer.
  chunked,
  /// A response that ends when the connection closes.
  until_close,
};

/// How a message's body is framed.
struct Framing {
  /// The kind of framing.
  BodyKind kind = BodyKind::none;
  /// kind length: the body's size in bytes.
  std::uint64_t length = 0;
};

/// The framing of a request's body.
/// @throws Error (errc::protocol_error) for framing a proxy must refuse
///         (RFC 9112 §6.3): both Transfer-Encoding and Content-Length,
///         a coding other than a final chunked, a bad or conflicting
///         Content-Length, a Connection field that names Content-Length or
///         Transfer-Encoding. These are what request smuggling is made of.
UPTLS_API Framing request_framing(const Request& request);

/// The framing of a response's body to a request with request_method:
/// none for HEAD, for 1xx, 204 and 304, and for a 2xx to CONNECT.
/// @throws Error (errc::protocol_error) as request_framing does.
UPTLS_API Framing response_framing(const Response& response, std::string_view request_method);

/// Whether the connection stays open after this exchange (RFC 9112 §9.3):
/// HTTP/1.1 unless either side sent `Connection: close`, HTTP/1.0 only with
/// `Connection: keep-alive` on both, never after a body that ends at close.
UPTLS_API bool keeps_alive(const Request& request, const Response& response,
                           const Framing& response_body);

/// Finds where a chunked body ends in bytes fed to it piece by piece, so
/// that they can be passed on untouched; counts the payload.
class UPTLS_API ChunkedScanner {
 public:
  /// Starts at the first chunk-size line.
  explicit ChunkedScanner(const Limits& limits = {});

  /// Feeds the next bytes of the body. done: the body ended after
  /// `consumed` of them (the rest are the next message); need_more: all
  /// were body; invalid or too_large: the body is malformed.
  Outcome feed(std::string_view data);

  /// The bytes of chunk data that come next before another line: a reader
  /// may read up to this many without passing the end of the body. 0 when
  /// a chunk-size line, the line end after a chunk, or a trailer comes next.
  std::uint64_t data_remaining() const noexcept { return state_ == State::data ? remaining_ : 0; }

  /// The payload bytes seen so far (chunk data, without the framing).
  std::uint64_t payload() const noexcept { return payload_; }

 private:
  enum class State { size_line, data, data_end, trailer, done, failed };
  Outcome fail(Parse parse, std::string message);
  // A whole line (without its line end) in state_; an outcome when feed
  // returns with it (a failure, or done with consumed bytes).
  std::optional<Outcome> on_line(const std::string& line, std::size_t consumed);
  std::optional<Outcome> on_size_line(const std::string& line);

  Limits limits_;
  State state_ = State::size_line;
  std::string line_;
  std::uint64_t remaining_ = 0;
  std::uint64_t payload_ = 0;
  std::size_t trailer_fields_ = 0;
  Outcome failure_;
};

}  // namespace uptls::http
