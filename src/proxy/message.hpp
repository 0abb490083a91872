#pragma once
// The heads a proxy reads and writes: a request or response head read
// from a stream, the responses the proxy makes itself, and the head a
// request goes to its origin with.

#include <asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "uptls/http.hpp"
#include "uptls/stream.hpp"

namespace uptls::proxy {

/// A response the proxy makes itself: text/plain, framed by its length,
/// `Connection: close` when close is set, the body left out (but for its
/// length) when head_only (the request was HEAD).
std::string make_response(int status, std::string_view body, bool close,
                          std::string_view extra_fields = {}, bool head_only = false);

/// Reads a head line by line, so that the bytes after it (a body, a
/// ClientHello pipelined after CONNECT) stay in the stream. Returns the
/// head with CRLF line ends; empty at a clean end before its first byte.
/// The stream's idle timeout bounds the whole head, not each line.
/// skip_empty: up to 8 empty lines before a request are passed over
/// (RFC 9112 §2.2).
/// @throws Error errc::line_too_long when a line or the head is over the
///         limits, errc::unexpected_eof when the head ends unfinished.
asio::awaitable<std::string> read_head(Stream& stream, const http::Limits& limits, bool skip_empty);

/// The head a request goes to its origin with, when forwarding and when
/// intercepting alike: the method, `path` (origin form) and the client's
/// version; `host` as the Host field (RFC 9112 §3.2.2); the client's
/// fields but for the proxy's own (Proxy-Authorization, Proxy-Connection),
/// Keep-Alive, Connection and the fields it names for this hop (RFC 9110
/// §7.6.1) except Upgrade, which a 101 relay passes on; the body framed as
/// the proxy will copy it (`body`, from http::request_framing: never the
/// client's framing fields, so that nothing the client writes decides how
/// the origin reads), and the proxy's own connection options (close,
/// upgrade, keep-alive for HTTP/1.0).
std::string origin_head(const http::Request& request, std::string_view path, std::string_view host,
                        const http::Framing& body);

}  // namespace uptls::proxy
