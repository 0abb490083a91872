#pragma once
/// @file
/// Error codes and the exception type of uptls.

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "uptls/export.hpp"

namespace uptls {

/// Library errors: protocol, usage and state failures detected by uptls itself.
enum class errc {
  /// A line or delimited record grew past the caller's limit.
  line_too_long = 1,
  /// The peer closed the connection in the middle of a line, record or fixed-size read.
  unexpected_eof,
  /// Bytes arrived in the plaintext phase where none may be carried into TLS.
  injected_plaintext,
  /// start_tls was called on a stream that is already TLS.
  already_tls,
  /// start_tls was called on a stream that has no TLS configuration for its role.
  no_tls_config,
  /// The TCP connection ended without the peer's TLS close_notify (possible truncation).
  tls_truncated,
  /// The TLS handshake did not finish within the handshake timeout.
  handshake_timeout,
  /// The TCP connection was not established within the connect timeout.
  connect_timeout,
  /// No data arrived within the read timeout.
  read_timeout,
  /// The stream was closed or aborted and cannot be used any more.
  stream_closed,
  /// A TLS configuration could not be built (bad file, key mismatch, unsafe choice).
  invalid_config,
  /// An argument was not valid for this call (for example a carry-over policy for the wrong role).
  invalid_argument,
  /// A host name could not be resolved to any address.
  resolve_failed,
  /// Bytes arrived after the peer's TLS close_notify; they are not TLS and
  /// are never delivered.
  data_after_close_notify,
  /// The peer took no data within the write timeout (it stopped reading).
  write_timeout,
  /// The peer's close_notify did not arrive within the close timeout.
  close_timeout,
  /// An operation was started while another that excludes it was running
  /// (two reads, two writes, start_tls or close beside anything).
  operation_in_progress,
  /// A read operation (a line, a record, a read) did not complete within the
  /// idle timeout, however the peer trickled its bytes.
  idle_timeout,
  /// A server refused a connection over its connection limits.
  connection_limit,
  /// The peer broke the rules of the protocol spoken over the stream (a
  /// malformed HTTP message, say); the message says which.
  protocol_error,
  /// A STARTTLS server did not offer the upgrade, or refused it, where the
  /// policy requires TLS; the message quotes what it said.
  starttls_unavailable,
  /// An OpenSSL call failed without queuing a reason (the message names the
  /// call); never a success code.
  tls_library_error,
  /// An exception that is neither a uptls nor a system error ended an
  /// operation (a bug, or one thrown by a callback); the message is its what().
  unexpected_exception,
  /// A handshake that had to resume a given session (Stream::resume_session_of,
  /// an FTP data connection resuming its control connection's) did not.
  session_not_resumed,
  /// A connection's PROXY protocol header (ServeOptions::accept_proxy) was
  /// missing, malformed, too long, or from a source not trusted to send one.
  proxy_header,
};

/// Conditions that group errc values, as Beast's do: compare a code with
/// one (`ec == uptls::condition::timeout`) to handle the whole group.
enum class condition {
  /// A timeout of any kind: errc::connect_timeout, handshake_timeout,
  /// read_timeout, idle_timeout, write_timeout and close_timeout, and the
  /// system's own (std::errc::timed_out, a TCP connect the kernel gave up).
  timeout = 1,
};

/// The category of condition values.
UPTLS_API const std::error_category& condition_category() noexcept;

/// Makes an error_condition in condition_category().
UPTLS_API std::error_condition make_error_condition(condition c) noexcept;

/// The category of errc values.
UPTLS_API const std::error_category& error_category() noexcept;

/// The category of OpenSSL error-queue codes (the packed value of ERR_get_error).
UPTLS_API const std::error_category& tls_category() noexcept;

/// The category of certificate verification results (X509_V_ERR_* values).
UPTLS_API const std::error_category& verify_category() noexcept;

/// Makes an error_code in error_category().
UPTLS_API std::error_code make_error_code(errc e) noexcept;

/// The enumerator's name ("idle_timeout"), as metrics and logs name a
/// failure.
/// @param code an errc value.
UPTLS_API std::string_view errc_name(errc code) noexcept;

/// The exception thrown by uptls operations.
///
/// code() says what class of failure it is; what() is the whole message,
/// with the detail a user needs to act on it (for example the names a
/// certificate does hold when the hostname did not match).
class UPTLS_API Error : public std::system_error {
 public:
  /// @param code the error class.
  /// @param message what happened and, where possible, what to do.
  Error(std::error_code code, const std::string& message);

  /// The whole message as given to the constructor.
  const char* what() const noexcept override;

 private:
  std::runtime_error message_;
};

/// The error code and the message an exception carries, for completing an
/// operation with a code instead of throwing: a std::system_error (Error
/// among them) gives its code and what(); std::bad_alloc gives
/// std::errc::not_enough_memory; anything else errc::unexpected_exception.
/// The code is never success.
/// @param exception the exception; not null.
/// @param message set to the exception's whole message.
UPTLS_API std::error_code error_of(const std::exception_ptr& exception,
                                   std::string& message) noexcept;

}  // namespace uptls

namespace std {

/// Lets errc values convert to std::error_code in uptls::error_category().
template <>
struct is_error_code_enum<uptls::errc> : true_type {};

/// Lets condition values convert to std::error_condition.
template <>
struct is_error_condition_enum<uptls::condition> : true_type {};

}  // namespace std
