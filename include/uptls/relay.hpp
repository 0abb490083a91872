#pragma once
/// @file
/// Copies bytes both ways between two streams until both directions end:
/// what a tunnel (HTTP CONNECT, a TCP or TLS proxy) does after its setup.

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <asio/awaitable.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

#include "uptls/export.hpp"
#include "uptls/stream.hpp"

namespace uptls {

/// How relay copies.
struct RelayOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// No idle limit, buffers of up to 64 KiB.
  RelayOptions() = default;

  /// Ends the relay when no byte has moved either way for this long (a
  /// tunnel that carries a long download one way is not idle); 0: never.
  std::chrono::milliseconds idle{0};
  /// The largest buffer of each direction. A direction starts with 2 KiB
  /// (an idle tunnel costs little) and uses this size while its reads keep
  /// filling the buffer (bulk transfer).
  std::size_t buffer_size = 64 * 1024;
  /// What the first stream is called in RelayResult::message.
  std::string a_name = "first stream";
  /// What the second stream is called in RelayResult::message.
  std::string b_name = "second stream";
};

/// What relay moved, and how it ended.
struct RelayResult {
  /// Bytes read from the first stream and written to the second.
  std::uint64_t a_to_b = 0;
  /// Bytes read from the second stream and written to the first.
  std::uint64_t b_to_a = 0;
  /// The first failure (a reset, a timeout, errc::idle_timeout), or none
  /// when both directions ended cleanly.
  std::error_code error;
  /// That failure as a sentence, naming the side that failed
  /// ("reading client: connection reset by peer").
  std::string message;
};

/// Copies a to b and b to a until both have ended. The clean end of one
/// side's input is passed on as a half-close of the other side
/// (Stream::shutdown_send: a FIN, or close_notify in TLS), and the other
/// direction goes on. A failure on either side aborts both streams. Each
/// write keeps the streams' write timeout; their read and idle timeouts
/// give way to options.idle while the relay runs.
/// @param a one stream (the client, say).
/// @param b the other stream (the upstream).
/// @param options the idle limit and buffer size.
/// @returns the bytes moved each way and the failure, if any; never throws
///          for a failure of the streams.
UPTLS_API asio::awaitable<RelayResult> relay(Stream& a, Stream& b, RelayOptions options = {});

namespace detail {
UPTLS_API asio::awaitable<std::tuple<std::error_code, RelayResult>> relay_result(
    Stream& a, Stream& b, RelayOptions options);
}

/// Initiates relay() with any completion token.
/// @param a one stream, on whose executor the relay runs; it must stay where
///        it is until completion.
/// @param b the other stream, likewise.
/// @param options the idle limit, buffer sizes and names.
/// @param token completion token for `void(std::error_code, RelayResult)`:
///        the code is RelayResult::error, and RelayResult::message says it
///        in a sentence naming the side that failed.
template <typename Token = asio::use_awaitable_t<>>
auto async_relay(Stream& a, Stream& b, RelayOptions options, Token&& token = Token()) {
  return detail::launch<void(std::error_code, RelayResult)>(
      a.get_executor(), std::forward<Token>(token), detail::relay_result(a, b, std::move(options)));
}

}  // namespace uptls
