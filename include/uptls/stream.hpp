#pragma once
/// @file
/// One stream type for plain TCP and TLS, upgradeable in place.

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "uptls/detail/launch.hpp"
#include "uptls/export.hpp"
#include "uptls/role.hpp"
#include "uptls/tls/config.hpp"
#include "uptls/tls/session_info.hpp"
#include "uptls/transport.hpp"

struct ssl_st;  // OpenSSL's SSL

namespace uptls {

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

class Stream;

namespace detail {
struct StreamState;
class StreamObserver;
/// Tells observer of the stream's handshakes and, at its end, of its bytes
/// (a Server's statistics). Internal to the library.
void observe(Stream& stream, std::shared_ptr<StreamObserver> observer);
/// A closed client stream that never connected, whose error_message() is
/// message: what an async_ form that makes a stream completes with when it
/// fails, so that the message is not lost.
UPTLS_API Stream failed_stream(asio::any_io_executor executor, std::string peer,
                               std::string message);
/// Stores message as stream's error_message(): the message of an async_ form
/// of another part of the library (the STARTTLS dialogues) that failed on it.
UPTLS_API void set_error_message(Stream& stream, std::string message);
}  // namespace detail

/// Timeouts of a stream. Zero means none.
struct Timeouts {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  Timeouts() = default;

  /// Bounds the whole TLS handshake, so a silent peer cannot hold a connection.
  std::chrono::milliseconds handshake{30'000};
  /// Bounds each wait for incoming data (errc::read_timeout).
  std::chrono::milliseconds read{0};
  /// Bounds each whole read operation, from its start: a line, a record,
  /// read_exactly, read_some (errc::idle_timeout). Unlike `read`, a peer
  /// that trickles a byte at a time does not keep it open (slowloris). A
  /// Server and open_connection set it to 5 minutes by default
  /// (ServeOptions, ConnectOptions); the STARTTLS dialogues bound each
  /// command and reply by it, or by 5 minutes when it is zero.
  std::chrono::milliseconds idle{0};
  /// Bounds each wait for room to write, so a peer that stops reading
  /// cannot hold a writer (errc::write_timeout).
  std::chrono::milliseconds write{0};
  /// Bounds the wait for the peer's close_notify in close().
  std::chrono::milliseconds close{5'000};
};

/// A connection that speaks plaintext and can be upgraded to TLS in place,
/// in the client or the server role; also used for implicit TLS.
///
/// The stream runs over a Transport: TCP, a Unix domain socket, or any
/// other (tests use an in-memory pair). It owns its read buffer, so line
/// reads, delimited reads and the upgrade all see the same bytes.
///
/// Every operation comes in two forms: a coroutine (`co_await
/// stream.read_line()`) that throws Error with a message saying what
/// happened and what to do, and an Asio initiating function
/// (`stream.async_read_line(max, token)`) that takes any completion token
/// and completes with an error code first; `asio::experimental::as_tuple` or
/// `asio::redirect_error` give the code instead of an exception, and
/// error_message() the full message.
///
/// Cancellation: both forms support per-operation cancellation
/// (`co_await (stream.read_line() || timer.async_wait(...))`, cancellation
/// slots), and complete with asio::error::operation_aborted. A cancelled or
/// timed-out read loses nothing: bytes already read stay buffered and the
/// stream stays usable. A write that is cancelled or times out after some
/// of its bytes went out, a cancelled start_tls and a cancelled close leave
/// a stream that cannot be trusted any more: it is aborted.
///
/// One read and one write may be outstanding at the same time; start_tls
/// and close need the stream to themselves. An operation that would overlap
/// fails at once with errc::operation_in_progress; abort() ends a stream
/// that another coroutine is using.
///
/// Thread safety: distinct objects are safe; one object is not safe for
/// concurrent use from several threads (use a strand; a Server runs each
/// connection on its own strand).
class UPTLS_API Stream {
 public:
  /// A stream with no connection: every coroutine operation fails with
  /// errc::stream_closed when awaited, and an async_ form throws it at the
  /// call (there is no executor to complete on). What a Stream is after it
  /// was moved from.
  Stream() noexcept;

  /// Takes over a connected transport.
  /// @param transport the connection (tcp_transport, unix_transport, ...).
  /// @param role the TLS role this end will play when upgraded.
  Stream(std::unique_ptr<Transport> transport, Role role);

  /// Takes over a connected transport, storing the client configuration
  /// that start_tls() will use (seed 001's `upgradeable=True`).
  /// @param transport the connection.
  /// @param config the client configuration start_tls() will use.
  /// @param server_name the name to send as SNI and to verify the
  ///        certificate against.
  Stream(std::unique_ptr<Transport> transport, std::shared_ptr<const tls::ClientConfig> config,
         std::string server_name);

  /// Takes over an accepted transport, storing the server configuration
  /// that start_tls() will use.
  /// @param transport the connection.
  /// @param config the server configuration start_tls() will use.
  Stream(std::unique_ptr<Transport> transport, std::shared_ptr<const tls::ServerConfig> config);

  /// Takes over a connected TCP socket.
  /// @param socket the connection.
  /// @param role the TLS role this end will play when upgraded.
  Stream(asio::ip::tcp::socket socket, Role role);

  /// Takes over a connected TCP socket with a stored client configuration.
  /// @param socket the connection.
  /// @param config the client configuration start_tls() will use.
  /// @param server_name the name to send as SNI and to verify.
  Stream(asio::ip::tcp::socket socket, std::shared_ptr<const tls::ClientConfig> config,
         std::string server_name);

  /// Takes over an accepted TCP socket with a stored server configuration.
  /// @param socket the connection.
  /// @param config the server configuration start_tls() will use.
  Stream(asio::ip::tcp::socket socket, std::shared_ptr<const tls::ServerConfig> config);

  /// Takes over the other's connection; other is left closed.
  /// @param other the stream to take over.
  Stream(Stream&& other) noexcept;
  /// Aborts this stream's connection if open, then takes over the other's.
  /// @param other the stream to take over.
  Stream& operator=(Stream&& other) noexcept;
  /// A stream destroyed while open is closed hard (as abort()).
  ~Stream();

  /// Upgrades to TLS with the configuration stored at construction.
  ///
  /// One rule for failures: a call that is wrong fails before anything
  /// changes, and the stream stays as it was and usable (errc::already_tls,
  /// errc::operation_in_progress, errc::no_tls_config, errc::invalid_argument
  /// for the other role's configuration, CarryOver::feed_handshake in the
  /// client role or a missing name to verify). An upgrade that fails once
  /// begun closes the stream: refused carried-over bytes, the handshake's
  /// errors, its timeout, a cancellation.
  /// @param carry_over what to do with bytes read but not consumed.
  /// @throws Error errc::no_tls_config without one, errc::already_tls when
  ///         already upgraded, errc::injected_plaintext when carried-over bytes
  ///         are refused, errc::handshake_timeout, or a TLS / verification
  ///         error from the handshake.
  asio::awaitable<void> start_tls(CarryOver carry_over = CarryOver::role_default);

  /// Upgrades to TLS as a client with the given configuration (seed 000);
  /// failures as start_tls(carry_over). The configuration and the name are
  /// stored when the upgrade begins, never at the call (an operation never
  /// awaited, or refused, changes nothing).
  /// @param config the client configuration to use from now on.
  /// @param server_name the name for SNI and verification; empty: the name
  ///        stored at construction.
  /// @param carry_over what to do with bytes read but not consumed.
  asio::awaitable<void> start_tls(std::shared_ptr<const tls::ClientConfig> config,
                                  std::string server_name = {},
                                  CarryOver carry_over = CarryOver::role_default);

  /// Upgrades to TLS as a server with the given configuration; stored and
  /// failing as the client form's.
  /// @param config the server configuration to use from now on.
  /// @param carry_over what to do with bytes read but not consumed.
  asio::awaitable<void> start_tls(std::shared_ptr<const tls::ServerConfig> config,
                                  CarryOver carry_over = CarryOver::role_default);

  /// Upgrades to TLS as a server with the given configuration, answering a
  /// client that sends no SNI (one that connects to an IP address, for
  /// example) as if it had asked for a name: the configuration's identities
  /// and its sni_callback choose for it as they would for SNI (an
  /// intercepting proxy answers for the host the client asked it to reach).
  /// Stored and failing as the client form's.
  /// @param config the server configuration to use from now on.
  /// @param name_without_sni the name taken when the client sends none.
  /// @param carry_over what to do with bytes read but not consumed.
  asio::awaitable<void> start_tls(std::shared_ptr<const tls::ServerConfig> config,
                                  std::string name_without_sni,
                                  CarryOver carry_over = CarryOver::role_default);

  /// Ends TLS and goes on in plaintext on the same connection (FTP's CCC,
  /// RFC 4217 §6): sends close_notify and waits (bounded by Timeouts::close)
  /// for the peer's. From the moment it is called, TLS records are read one
  /// at a time, so that no plaintext byte sent after the peer's close_notify
  /// is swallowed. Bytes already decrypted and not consumed stay buffered:
  /// they came over TLS.
  /// @throws Error errc::stream_closed when not TLS (or closed),
  ///         errc::data_after_close_notify when plaintext arrived together
  ///         with the peer's close_notify and was read with it,
  ///         errc::close_timeout, errc::protocol_error when the peer sent
  ///         data instead of its close_notify. A failure closes the stream.
  asio::awaitable<void> stop_tls();
  /// Reads at least one byte into buffer.
  /// @param buffer where to put the bytes.
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

  /// Reads a line, as read_line(max_length) does, for a caller that reads
  /// one unit of several lines (a request's head, a multi-line reply): the
  /// unit's deadline, not each line, bounds the wait, so a peer that sends
  /// a line at a time cannot hold it open.
  /// @param max_length the longest line accepted.
  /// @param deadline when the unit must be complete; the stream's own idle
  ///        timeout still applies when it comes first.
  /// @throws Error errc::idle_timeout at the deadline, or as read_line does.
  asio::awaitable<std::optional<std::string>> read_line(
      std::size_t max_length, std::chrono::steady_clock::time_point deadline);

  /// Reads up to and including delimiter.
  /// @param delimiter what ends the record; not empty.
  /// @param max_length the longest record accepted, delimiter included.
  /// @throws Error errc::line_too_long when max_length bytes arrive without
  ///         the delimiter, errc::unexpected_eof when the stream ends first.
  asio::awaitable<std::string> read_until(std::string_view delimiter,
                                          std::size_t max_length = 65536);

  /// Reads exactly n bytes.
  /// @param n how many.
  /// @throws Error errc::unexpected_eof when the stream ends first.
  asio::awaitable<std::string> read_exactly(std::size_t n);

  /// The bytes read from the peer and not yet consumed, for running a pure
  /// parser over the stream's own buffer (the STARTTLS dialogues do): look,
  /// consume() what the parser took, read_more() when it needs more.
  /// Valid until the next operation on the stream.
  std::string_view buffered_bytes() const noexcept;
  /// Reads at least one more byte into the buffer (buffered_bytes() grows).
  /// @returns false at the peer's clean end of stream.
  /// @throws Error as read_some does.
  asio::awaitable<bool> read_more();
  /// Reads at least one more byte, as read_more() does, for a caller that
  /// reads one unit (a command, a reply, a message) in several calls: the
  /// unit's deadline, not each call, bounds the wait, so a peer that
  /// trickles a byte at a time cannot hold it open (slowloris).
  /// @param deadline when the unit must be complete; the stream's own idle
  ///        timeout still applies when it comes first.
  /// @returns false at the peer's clean end of stream.
  /// @throws Error errc::idle_timeout at the deadline, or as read_some does.
  asio::awaitable<bool> read_more(std::chrono::steady_clock::time_point deadline);
  /// Consumes the first n bytes of buffered_bytes().
  /// @param n how many; at most buffered().
  void consume(std::size_t n) noexcept;
  /// Writes all of data; completes when the transport has taken every byte,
  /// so a slow peer slows the writer (backpressure).
  /// @param data the bytes; they must stay valid until completion.
  /// @throws Error errc::write_timeout, or the transport's error.
  asio::awaitable<void> write_all(asio::const_buffer data);

  /// Writes all of text.
  /// @param text the bytes; they must stay valid until completion.
  asio::awaitable<void> write_all(std::string_view text);

  /// Ends this side's sending and keeps reading (a half-close, what a relay
  /// passes on when its input ends): in TLS sends close_notify, then ends
  /// TCP sending; reads go on until the peer's end. Writes after it fail
  /// with errc::stream_closed.
  /// @throws Error errc::operation_in_progress while a write is pending,
  ///         errc::write_timeout, or the transport's error.
  asio::awaitable<void> shutdown_send();

  /// Closes gracefully: in TLS sends close_notify and waits (bounded by
  /// Timeouts::close) for the peer's, then closes the transport.
  /// Idempotent; never throws for the peer's failures.
  /// @throws Error errc::operation_in_progress while a read or a write is
  ///         pending (abort() ends the stream then).
  asio::awaitable<void> close();

  /// Closes the transport at once, with no close_notify. Pending operations
  /// complete with an error.
  void abort() noexcept;

  /// Initiates shutdown_send().
  /// @param token completion token; the signature is void(std::error_code).
  template <typename Token = asio::use_awaitable_t<>>
  auto async_shutdown_send(Token&& token = Token()) {
    return launch<void(std::error_code)>(std::forward<Token>(token), shutdown_send_result());
  }

  /// Initiates start_tls() with the stored configuration.
  /// @param carry_over what to do with bytes read but not consumed.
  /// @param token completion token for `void(std::error_code)`.
  template <typename Token = asio::use_awaitable_t<>>
  auto async_start_tls(CarryOver carry_over, Token&& token = Token()) {
    return launch<void(std::error_code)>(std::forward<Token>(token), start_tls_result(carry_over));
  }

  /// Initiates read_line(); a clean end of stream before any byte of a new
  /// line completes with asio::error::eof.
  /// @param max_length the longest line accepted, terminator excluded.
  /// @param token completion token for `void(std::error_code, std::string)`.
  template <typename Token = asio::use_awaitable_t<>>
  auto async_read_line(std::size_t max_length, Token&& token = Token()) {
    return launch<void(std::error_code, std::string)>(std::forward<Token>(token),
                                                      read_line_result(max_length));
  }

  /// Initiates read_until().
  /// @param delimiter what ends the record; copied.
  /// @param max_length the longest record accepted, delimiter included.
  /// @param token completion token for `void(std::error_code, std::string)`.
  template <typename Token = asio::use_awaitable_t<>>
  auto async_read_until(std::string_view delimiter, std::size_t max_length,
                        Token&& token = Token()) {
    return launch<void(std::error_code, std::string)>(
        std::forward<Token>(token), read_until_result(std::string(delimiter), max_length));
  }

  /// Initiates read_exactly().
  /// @param n how many bytes.
  /// @param token completion token for `void(std::error_code, std::string)`.
  template <typename Token = asio::use_awaitable_t<>>
  auto async_read_exactly(std::size_t n, Token&& token = Token()) {
    return launch<void(std::error_code, std::string)>(std::forward<Token>(token),
                                                      read_exactly_result(n));
  }

  /// Initiates write_all(); completes with the bytes written.
  /// @param data the bytes; they must stay valid until completion.
  /// @param token completion token for `void(std::error_code, std::size_t)`.
  template <typename Token = asio::use_awaitable_t<>>
  auto async_write_all(asio::const_buffer data, Token&& token = Token()) {
    return launch<void(std::error_code, std::size_t)>(std::forward<Token>(token),
                                                      write_all_result(data));
  }

  /// Initiates close().
  /// @param token completion token for `void(std::error_code)`.
  template <typename Token = asio::use_awaitable_t<>>
  auto async_close(Token&& token = Token()) {
    return launch<void(std::error_code)>(std::forward<Token>(token), close_result());
  }

  /// Initiates start_tls(config, server_name, carry_over) as a client.
  /// @param config the client configuration to use from now on.
  /// @param server_name the name for SNI and verification; empty: the name
  ///        stored at construction.
  /// @param carry_over what to do with bytes read but not consumed.
  /// @param token completion token for `void(std::error_code)`.
  template <typename Token = asio::use_awaitable_t<>>
  auto async_start_tls(std::shared_ptr<const tls::ClientConfig> config, std::string server_name,
                       CarryOver carry_over, Token&& token = Token()) {
    return launch<void(std::error_code)>(
        std::forward<Token>(token),
        result(start_tls(std::move(config), std::move(server_name), carry_over)));
  }

  /// Initiates start_tls(config, name_without_sni, carry_over) as a server.
  /// @param config the server configuration to use from now on.
  /// @param name_without_sni the name taken when the client sends none; may
  ///        be empty.
  /// @param carry_over what to do with bytes read but not consumed.
  /// @param token completion token for `void(std::error_code)`.
  template <typename Token = asio::use_awaitable_t<>>
  auto async_start_tls(std::shared_ptr<const tls::ServerConfig> config,
                       std::string name_without_sni, CarryOver carry_over,
                       Token&& token = Token()) {
    return launch<void(std::error_code)>(
        std::forward<Token>(token),
        result(start_tls(std::move(config), std::move(name_without_sni), carry_over)));
  }

  /// Initiates stop_tls().
  /// @param token completion token for `void(std::error_code)`.
  template <typename Token = asio::use_awaitable_t<>>
  auto async_stop_tls(Token&& token = Token()) {
    return launch<void(std::error_code)>(std::forward<Token>(token), result(stop_tls()));
  }

  /// Initiates read_more(deadline).
  /// @param deadline when the unit being read must be complete
  ///        (steady_clock::time_point::max(): none).
  /// @param token completion token for `void(std::error_code, bool)`: false
  ///        at the peer's clean end of stream.
  template <typename Token = asio::use_awaitable_t<>>
  auto async_read_more(std::chrono::steady_clock::time_point deadline, Token&& token = Token()) {
    return launch<void(std::error_code, bool)>(std::forward<Token>(token),
                                               result(read_more(deadline)));
  }

  /// Asio's AsyncReadStream: reads into the first non-empty buffer and
  /// completes with (error_code, bytes), so asio::async_read and friends
  /// work on a Stream. Errors are those read_some throws; the clean end of
  /// stream is asio::error::eof.
  /// @param buffers where to put the bytes.
  /// @param token completion token for `void(std::error_code, std::size_t)`.
  template <typename MutableBufferSequence, typename ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return launch<void(std::error_code, std::size_t)>(
        std::forward<ReadToken>(token),
        read_some_result(first_buffer<asio::mutable_buffer>(buffers)));
  }

  /// Asio's AsyncWriteStream: writes at least one byte of the first
  /// non-empty buffer and completes with (error_code, bytes).
  /// @param buffers the bytes to write.
  /// @param token completion token for `void(std::error_code, std::size_t)`.
  template <typename ConstBufferSequence, typename WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return launch<void(std::error_code, std::size_t)>(
        std::forward<WriteToken>(token),
        write_some_result(first_buffer<asio::const_buffer>(buffers)));
  }

  /// The whole message of the last error an async_* operation completed
  /// with (an error code carries none); empty when there was none.
  const std::string& error_message() const noexcept;

  /// Whether the stream has been upgraded to TLS.
  bool is_tls() const noexcept;

  /// Whether the stream has been closed or aborted.
  bool is_closed() const noexcept;

  /// The role the stream plays in TLS.
  Role role() const noexcept;

  /// Whether the stream holds a stored configuration that start_tls() can use.
  bool upgradeable() const noexcept;
  /// The client configuration stored for start_tls(), if any (to open
  /// another connection the same way: FTP's data connections).
  std::shared_ptr<const tls::ClientConfig> client_config() const;
  /// The server configuration stored for start_tls(), if any.
  std::shared_ptr<const tls::ServerConfig> server_config() const;
  /// The name stored for SNI and verification (client role), or answered
  /// for when the client sends no SNI (server role), if any.
  std::string server_name() const;
  /// How many TLS 1.3 session tickets the server sends after the next
  /// handshake (OpenSSL sends 2; at most 16). 0 for connections whose
  /// client never reads and closes at once after writing, such as FTP
  /// uploads: unread tickets make its close a reset, which can discard the
  /// end of the data.
  /// @param count the number of tickets.
  void set_session_tickets(std::size_t count) noexcept;
  /// Makes the next handshake resume other's TLS session, as an FTP data
  /// connection resumes its control connection's (RFC 4217 §10.2; vsftpd's
  /// require_ssl_reuse and ProFTPD require it by default). A client offers
  /// other's session (instead of one from its configuration's cache). A
  /// server accepts only a handshake that resumes a session other's
  /// connection issued: a full handshake, or one resuming another client's
  /// session, fails with errc::session_not_resumed and closes the stream.
  /// Call before start_tls().
  /// @param other a TLS stream of the same role.
  /// @throws Error errc::invalid_argument when other is not TLS or its role
  ///         is not this stream's.
  void resume_session_of(const Stream& other);

  /// The peer's certificate: none before the upgrade or when the peer sent
  /// none (a client, usually).
  std::optional<tls::CertificateInfo> peer_certificate() const;

  /// The chain the peer sent, its own certificate first; empty before the
  /// upgrade or when it sent none. (A resumed session has no chain.)
  std::vector<tls::CertificateInfo> peer_chain() const;

  /// The negotiated TLS parameters; none before the upgrade.
  std::optional<tls::SessionInfo> tls_info() const;

  /// The verdict on the peer's certificate and name; none before the
  /// upgrade. A stream whose configuration refuses what fails verification
  /// (the default) is only upgraded when the verdict is ok;
  /// PeerVerification::dangerous_report_only gets here with any verdict.
  std::optional<tls::Verification> verification() const;

  /// The peer as messages name it ("127.0.0.1:4000", "unix:/run/app.sock").
  std::string peer() const;

  /// The local address and port.
  /// @throws std::system_error when the transport is not TCP.
  asio::ip::tcp::endpoint local_endpoint() const;

  /// The peer's address and port.
  /// @throws std::system_error when the transport is not TCP.
  asio::ip::tcp::endpoint remote_endpoint() const;

  /// Bytes read from the peer and not yet consumed by the application.
  std::size_t buffered() const noexcept;

  /// The current timeouts.
  const Timeouts& timeouts() const noexcept;

  /// Replaces the timeouts; applies to operations started afterwards.
  /// @param timeouts the new timeouts.
  void set_timeouts(const Timeouts& timeouts) noexcept;

  /// The executor type, for Asio's stream concepts.
  using executor_type = asio::any_io_executor;

  /// The executor the stream's operations run on (its transport's).
  executor_type get_executor() const;

  /// The OpenSSL SSL* once upgraded, else nullptr; for what uptls does not cover.
  ssl_st* native_handle() const noexcept;

  /// The transport the stream reads and writes: for what it offers beyond
  /// bytes (Transport::native_socket() for socket options such as
  /// SO_KEEPALIVE, tcp_endpoint()). Reading, writing or closing through it
  /// bypasses the stream and breaks it.
  Transport& transport() const;

  /// Aborts a stream later, from any thread, without owning it: what a
  /// server keeps to end the connections its handlers still hold.
  class UPTLS_API AbortHandle {
   public:
    /// A handle that aborts nothing.
    AbortHandle() = default;
    /// Aborts the stream on its executor, if it still exists; safe from any thread.
    void abort() const;
    /// Aborts the stream as abort() does, but a TLS stream first sends its
    /// close_notify when that needs no wait (no record half-written, room in
    /// the socket), so that the peer sees a clean end of TLS rather than a
    /// truncation. For a server that shuts down (Server::stop).
    void abort_with_close_notify() const;

   private:
    friend class Stream;
    void abort_on_executor(bool close_notify) const;
    std::weak_ptr<detail::StreamState> state_;
  };

  /// A handle that can abort this stream later.
  AbortHandle abort_handle() const;

 private:
  using Result = std::tuple<std::error_code>;
  template <typename T>
  using ResultOf = std::tuple<std::error_code, T>;

  asio::awaitable<Result> start_tls_result(CarryOver carry_over);
  asio::awaitable<ResultOf<std::string>> read_line_result(std::size_t max_length);
  asio::awaitable<ResultOf<std::string>> read_until_result(std::string delimiter,
                                                           std::size_t max_length);
  asio::awaitable<ResultOf<std::string>> read_exactly_result(std::size_t n);
  asio::awaitable<ResultOf<std::size_t>> write_all_result(asio::const_buffer data);
  asio::awaitable<Result> close_result();
  asio::awaitable<Result> shutdown_send_result();
  asio::awaitable<ResultOf<std::size_t>> read_some_result(asio::mutable_buffer buffer);
  asio::awaitable<ResultOf<std::size_t>> write_some_result(asio::const_buffer buffer);
  // Any operation of this stream as a result: its Error becomes the code,
  // its message error_message().
  asio::awaitable<Result> result(asio::awaitable<void> operation);
  asio::awaitable<ResultOf<bool>> result(asio::awaitable<bool> operation);

  template <typename Buffer, typename Sequence>
  static Buffer first_buffer(const Sequence& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      Buffer buffer(*it);
      if (buffer.size() > 0) return buffer;
    }
    return Buffer();
  }

  template <typename Signature, typename Token, typename Tuple>
  auto launch(Token&& token, asio::awaitable<Tuple> operation) {
    return detail::launch<Signature>(get_executor(), std::forward<Token>(token),
                                     std::move(operation));
  }

  friend Stream detail::failed_stream(asio::any_io_executor, std::string, std::string);
  friend void detail::set_error_message(Stream&, std::string);
  friend void detail::observe(Stream&, std::shared_ptr<detail::StreamObserver>);

  std::shared_ptr<detail::StreamState> state_;
};

namespace detail {

/// operation's outcome as (error_code, value): a failure completes with
/// its code, never with success, and its whole message goes to store.
/// @param operation the operation, made at the call.
/// @param store called with the message of a failure.
template <typename T, typename Store>
asio::awaitable<std::tuple<std::error_code, T>> result_of(asio::awaitable<T> operation,
                                                          Store store) {
  std::exception_ptr failure;
  try {
    co_return std::tuple<std::error_code, T>(std::error_code(), co_await std::move(operation));
  } catch (...) {
    failure = std::current_exception();
  }
  std::string message;
  std::error_code code = error_of(failure, message);
  store(std::move(message));
  co_return std::tuple<std::error_code, T>(code, T());
}

/// operation's outcome as (error_code, value), for an async_ form on
/// stream: the whole message of a failure is stream.error_message().
/// stream must outlive the operation.
/// @param stream the stream the operation works on.
/// @param operation the operation, made at the call.
template <typename T>
asio::awaitable<std::tuple<std::error_code, T>> result_on(Stream& stream,
                                                          asio::awaitable<T> operation) {
  return result_of(std::move(operation), [&stream](std::string message) {
    set_error_message(stream, std::move(message));
  });
}

}  // namespace detail

}  // namespace uptls
