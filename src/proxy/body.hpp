#pragma once
// Copying one HTTP body from one stream to another, as it came.

#include <asio/awaitable.hpp>
#include <cstdint>

#include "uptls/http.hpp"
#include "uptls/stream.hpp"

namespace uptls::proxy {

/// The two ends of a body's copy, named for messages ("the client").
struct Ends {
  Stream& from;
  const char* from_name;
  /// Null: the body is read and dropped.
  Stream* to;
  const char* to_name;
};

/// Copies one body framed as `framing` says, untouched but for bare LFs in
/// chunk lines; no byte after the body is taken from `from`. Counts the
/// payload bytes passed on in `moved` as it goes, so that a failure still
/// says how far it came; `writing` says which end a failure came from.
asio::awaitable<void> copy_body_between(Ends ends, const http::Framing& framing,
                                        const http::Limits& limits, std::uint64_t& moved,
                                        bool& writing);

/// Copies one body (see copy_body_between); a failure names the end it came
/// from: "reading the client: ...", "writing to the upstream: ...".
asio::awaitable<void> copy_body(Ends ends, const http::Framing& framing, const http::Limits& limits,
                                std::uint64_t& moved);

}  // namespace uptls::proxy
