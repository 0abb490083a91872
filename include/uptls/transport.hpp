#pragma once
/// @file
/// The byte pipe under a Stream: TCP, a Unix domain socket, or any other
/// connection that can read, write and wait.

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>

#include "uptls/export.hpp"

namespace uptls {

namespace proxy_protocol {
struct Header;
}

/// The direction a transport waits for.
enum class Readiness {
  /// Bytes to read, an end of stream or an error.
  read,
  /// Room to write, or an error.
  write,
};

/// The byte pipe under a Stream.
///
/// A transport makes non-blocking attempts and waits for readiness. The TLS
/// engine calls read_some and write_some from inside OpenSSL, which must not
/// block; when they answer asio::error::would_block, the stream calls wait()
/// and tries again. So a transport never copies bytes through a buffer of
/// its own, and the engine never makes a system call of its own.
///
/// uptls provides TCP (tcp_transport) and Unix domain sockets
/// (unix_transport); tests use an in-memory pair. Implement this interface
/// to run a Stream over anything else that carries a byte stream.
///
/// Thread safety: a transport is used by one stream, from its executor.
class UPTLS_API Transport {
 public:
  /// The executor type of the transport's waits.
  using executor_type = asio::any_io_executor;

  virtual ~Transport();

  /// One non-blocking read attempt.
  /// @param buffer where to put the bytes; never empty.
  /// @param ec set to asio::error::would_block when no byte is there yet,
  ///        or to the failure (a reset, say); cleared otherwise.
  /// @returns the bytes read; 0 with ec clear at the peer's end of stream.
  virtual std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) noexcept = 0;

  /// One non-blocking write attempt.
  /// @param buffer the bytes to write; never empty.
  /// @param ec set to asio::error::would_block when there is no room yet,
  ///        or to the failure; cleared otherwise.
  /// @returns the bytes written (at least one when ec is clear).
  virtual std::size_t write_some(asio::const_buffer buffer, std::error_code& ec) noexcept = 0;

  /// What wait() completes with: no error when ready;
  /// asio::error::operation_aborted when cancelled or closed; another error
  /// when the wait failed. A tuple, so that a socket transport can return
  /// `socket.async_wait(type, asio::experimental::as_tuple(asio::use_awaitable))`
  /// itself, without a coroutine frame of its own for every wait.
  using WaitResult = std::tuple<std::error_code>;

  /// Waits until an attempt in direction may make progress.
  ///
  /// Supports per-operation cancellation through the awaiting coroutine's
  /// cancellation state (`wait(...) || timer`, asio::cancel_after).
  /// @param direction what to wait for.
  virtual asio::awaitable<WaitResult> wait(Readiness direction) = 0;

  /// Makes the pending waits complete at once with operation_aborted (a
  /// Stream's deadline does this); the transport stays open.
  virtual void cancel() noexcept = 0;

  /// Stops sending: the peer reads an end of stream; reading goes on.
  virtual void shutdown_send(std::error_code& ec) noexcept = 0;

  /// Closes at once; a pending wait completes with operation_aborted.
  virtual void close() noexcept = 0;

  /// Whether close() has not been called.
  virtual bool is_open() const noexcept = 0;

  /// The executor that waits complete on.
  virtual executor_type get_executor() = 0;

  /// The peer as messages name it: "127.0.0.1:4000", "[::1]:25",
  /// "unix:/run/app.sock", or what the transport chooses.
  virtual std::string peer() const = 0;

  /// The local and the remote TCP endpoint, when the transport is TCP.
  virtual std::optional<asio::ip::tcp::endpoint> tcp_endpoint(bool local) const;

  /// The socket's descriptor, for socket options (SO_KEEPALIVE,
  /// TCP_KEEPIDLE); -1 for a transport that has none (the default).
  virtual int native_socket() const noexcept;

  /// The PROXY protocol header the connection began with (a Server with
  /// ServeOptions::accept_proxy reads it), or null: when there is one, peer()
  /// and tcp_endpoint(false) name the client it names.
  virtual const proxy_protocol::Header* proxy_header() const noexcept;
};

/// Whether ec says "try again later": asio::error::would_block, or the same
/// condition in std::errc spelling, as a transport of your own may return it.
/// @param ec a code from Transport::read_some or write_some.
inline bool is_would_block(const std::error_code& ec) noexcept {
  return ec == asio::error::would_block || ec == std::errc::operation_would_block ||
         ec == std::errc::resource_unavailable_try_again;
}

/// A transport over a connected TCP socket (Nagle's algorithm off: line
/// protocols write small segments back to back).
UPTLS_API std::unique_ptr<Transport> tcp_transport(asio::ip::tcp::socket socket);

/// A transport over a connected Unix domain stream socket.
UPTLS_API std::unique_ptr<Transport> unix_transport(asio::local::stream_protocol::socket socket);

}  // namespace uptls
