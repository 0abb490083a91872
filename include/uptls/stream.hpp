#pragma once
/// @file
/// One stream type for plain TCP and TLS, upgradeable in place.

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "uptls/tls/config.hpp"
#include "uptls/tls/session_info.hpp"

namespace uptls {

/// Which end of the TLS handshake a stream plays.
enum class Role { client, server };

/// What start_tls does with bytes that were read in the plaintext phase but
/// not yet consumed by the application.
///
/// They are never delivered as application data after the upgrade (the
/// STARTTLS injection class, CVE-2011-0411).
enum class CarryOver {
  /// Server: feed them to the handshake (a client may send STARTTLS and its
  /// ClientHello back to back). Client: refuse them.
  role_default,
  /// Feed them to the handshake as the start of the client's ClientHello.
  /// Only valid in the server role.
  feed_handshake,
  /// Fail with errc::injected_plaintext if there are any. For protocols in
  /// which the server answers STARTTLS before the handshake (SMTP, IMAP, ...).
  refuse,
};

/// Timeouts of a stream. Zero means none.
struct Timeouts {
  // Deliberately not an aggregate: GCC 12 destroys aggregate temporaries in a
  // co_await expression twice. Set the fields you need on a named object.
  Timeouts() = default;

  /// Bounds the whole TLS handshake, so a silent peer cannot hold a connection.
  std::chrono::milliseconds handshake{30'000};
  /// Bounds each wait for incoming data.
  std::chrono::milliseconds read{0};
  /// Bounds the wait for the peer's close_notify in close().
  std::chrono::milliseconds close{5'000};
};

/// A TCP connection that speaks plaintext and can be upgraded to TLS in
/// place, in the client or the server role; also used for implicit TLS.
///
/// The stream owns its read buffer, so line reads, delimited reads and the
/// upgrade all see the same bytes. Reads and writes are coroutines on the
/// executor of the socket. One read and one write may be outstanding at the
/// same time; start_tls and close need the stream to themselves.
///
/// Thread safety: distinct objects are safe; one object is not safe for
/// concurrent use from several threads (use a strand).
class Stream {
 public:
  /// Takes over a connected socket.
  /// @param socket a connected TCP socket.
  /// @param role the TLS role this end will play when upgraded.
  Stream(asio::ip::tcp::socket socket, Role role);

  /// Takes over a connected socket, storing the client configuration that
  /// start_tls() will use (seed 001's `upgradeable=True`).
  /// @param server_name the name to send as SNI and to verify the
  ///        certificate against.
  Stream(asio::ip::tcp::socket socket, std::shared_ptr<const tls::ClientConfig> config,
         std::string server_name);

  /// Takes over an accepted socket, storing the server configuration that
  /// start_tls() will use.
  Stream(asio::ip::tcp::socket socket, std::shared_ptr<const tls::ServerConfig> config);

  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;
  /// A stream destroyed while open is closed hard (as abort()).
  ~Stream();

  /// Upgrades to TLS with the configuration stored at construction.
  /// @throws Error errc::no_tls_config without one, errc::already_tls when
  ///         already upgraded, errc::injected_plaintext when carried-over bytes
  ///         are refused, errc::handshake_timeout, or a TLS / verification
  ///         error from the handshake.
  asio::awaitable<void> start_tls(CarryOver carry_over = CarryOver::role_default);

  /// Upgrades to TLS as a client with the given configuration (seed 000).
  /// @param server_name the name for SNI and verification; empty: the name
  ///        stored at construction.
  asio::awaitable<void> start_tls(std::shared_ptr<const tls::ClientConfig> config,
                                  std::string server_name = {},
                                  CarryOver carry_over = CarryOver::role_default);

  /// Upgrades to TLS as a server with the given configuration.
  asio::awaitable<void> start_tls(std::shared_ptr<const tls::ServerConfig> config,
                                  CarryOver carry_over = CarryOver::role_default);

  /// Reads at least one byte into buffer.
  /// @returns the number of bytes read; 0 only at the peer's clean end of
  ///          stream (TCP FIN in plaintext, close_notify in TLS).
  /// @throws Error errc::tls_truncated when a TLS peer closes TCP without
  ///         close_notify, errc::data_after_close_notify when bytes follow the
  ///         peer's close_notify, errc::read_timeout, or std::system_error for
  ///         a reset.
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer);

  /// Reads one line ended by LF or CRLF.
  /// @param max_length the longest line accepted, terminator excluded.
  /// @returns the line without its terminator; nullopt at a clean end of
  ///          stream before any byte of a new line.
  /// @throws Error errc::line_too_long past max_length (the bytes stay
  ///         buffered), errc::unexpected_eof when the stream ends mid-line.
  asio::awaitable<std::optional<std::string>> read_line(std::size_t max_length = 8192);

  /// Reads up to and including delimiter.
  /// @throws Error errc::line_too_long when max_length bytes arrive without
  ///         the delimiter, errc::unexpected_eof when the stream ends first.
  asio::awaitable<std::string> read_until(std::string_view delimiter,
                                          std::size_t max_length = 65536);

  /// Reads exactly n bytes.
  /// @throws Error errc::unexpected_eof when the stream ends first.
  asio::awaitable<std::string> read_exactly(std::size_t n);

  /// Writes all of data; completes when the kernel has taken every byte, so
  /// a slow peer slows the writer (backpressure).
  asio::awaitable<void> write_all(asio::const_buffer data);

  /// Writes all of text.
  asio::awaitable<void> write_all(std::string_view text);

  /// Closes gracefully: in TLS sends close_notify and waits (bounded by
  /// Timeouts::close) for the peer's, then closes the socket. Idempotent.
  asio::awaitable<void> close();

  /// Closes the socket at once, with no close_notify. Pending operations
  /// complete with an error.
  void abort() noexcept;

  /// Whether the stream has been upgraded to TLS.
  bool is_tls() const noexcept;

  /// Whether the stream has been closed or aborted.
  bool is_closed() const noexcept;

  /// The role the stream plays in TLS.
  Role role() const noexcept;

  /// Whether the stream holds a stored configuration that start_tls() can use.
  bool upgradeable() const noexcept;

  /// The peer's certificate: none before the upgrade or when the peer sent
  /// none (a client, usually).
  std::optional<tls::CertificateInfo> peer_certificate() const;

  /// The negotiated TLS parameters; none before the upgrade.
  std::optional<tls::SessionInfo> tls_info() const;

  /// The local address and port.
  asio::ip::tcp::endpoint local_endpoint() const;

  /// The peer's address and port.
  asio::ip::tcp::endpoint remote_endpoint() const;

  /// Bytes read from the peer and not yet consumed by the application.
  std::size_t buffered() const noexcept;

  /// The current timeouts.
  const Timeouts& timeouts() const noexcept;

  /// Replaces the timeouts; applies to operations started afterwards.
  void set_timeouts(const Timeouts& timeouts) noexcept;

  /// The executor type, for Asio's stream concepts.
  using executor_type = asio::any_io_executor;

  /// The executor the stream's operations run on.
  executor_type get_executor() const;

  /// Asio's AsyncReadStream: reads into the first non-empty buffer and
  /// completes with (error_code, bytes), so asio::async_read and friends
  /// work on a Stream. Errors are those read_some throws; the clean end of
  /// stream is asio::error::eof. With an as_tuple token it is the
  /// non-throwing form of read_some.
  template <typename MutableBufferSequence, typename ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return initiate(&Stream::read_some_result, first_buffer<asio::mutable_buffer>(buffers),
                    std::forward<ReadToken>(token));
  }

  /// Asio's AsyncWriteStream: writes at least one byte of the first
  /// non-empty buffer and completes with (error_code, bytes).
  template <typename ConstBufferSequence, typename WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return initiate(&Stream::write_some_result, first_buffer<asio::const_buffer>(buffers),
                    std::forward<WriteToken>(token));
  }

  /// The OpenSSL SSL* once upgraded, else nullptr; for what uptls does not cover.
  void* native_handle() const noexcept;

  struct Impl;

 private:
  asio::awaitable<std::pair<std::error_code, std::size_t>> read_some_result(
      asio::mutable_buffer buffer);
  asio::awaitable<std::pair<std::error_code, std::size_t>> write_some_result(
      asio::const_buffer buffer);

  template <typename Buffer, typename Sequence>
  static Buffer first_buffer(const Sequence& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      Buffer buffer(*it);
      if (buffer.size() > 0) return buffer;
    }
    return Buffer();
  }

  /// Runs one of the *_result coroutines and completes token with its result.
  template <typename Buffer, typename Token>
  auto initiate(
      asio::awaitable<std::pair<std::error_code, std::size_t>> (Stream::*operation)(Buffer),
      Buffer buffer, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        [this, operation, buffer](auto handler) {
          auto executor = asio::get_associated_executor(handler, get_executor());
          asio::co_spawn(get_executor(), (this->*operation)(buffer),
                         asio::bind_executor(
                             executor, [handler = std::move(handler)](
                                           std::exception_ptr,
                                           std::pair<std::error_code, std::size_t> result) mutable {
                               std::move(handler)(result.first, result.second);
                             }));
        },
        token);
  }

  std::shared_ptr<Impl> impl_;
  friend class Server;
};

}  // namespace uptls
