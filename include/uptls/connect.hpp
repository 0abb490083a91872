#pragma once
/// @file
/// Opening client connections (seed 000's and 001's open_connection), over
/// TCP or a Unix domain socket.

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "uptls/detail/launch.hpp"
#include "uptls/export.hpp"
#include "uptls/stream.hpp"
#include "uptls/tls/config.hpp"

namespace uptls {

/// How open_connection connects.
struct ConnectOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// Safe defaults; timeouts.idle is 5 minutes (RFC 5321 §4.5.3.2's wait
  /// for a reply), so a server that accepts and says nothing cannot hold a
  /// client for ever.
  ConnectOptions() { timeouts.idle = std::chrono::minutes(5); }

  /// The TLS configuration. Without upgradeable the handshake happens right
  /// after connecting (implicit TLS); with it, at start_tls().
  std::shared_ptr<const tls::ClientConfig> tls;
  /// Defer TLS until start_tls() (seed 001). The default, false, is
  /// ServeOptions's too, and asyncio's: a configuration given means TLS
  /// from the first byte.
  bool upgradeable = false;
  /// The name for SNI and certificate verification when it differs from the
  /// host connected to (seed 004 connects to localhost, verifies example.com).
  std::string server_name;
  /// Bounds name resolution and the TCP connect together.
  std::chrono::milliseconds connect_timeout{30'000};
  /// The stream's timeouts (idle: 5 minutes unless changed; zero: none).
  Timeouts timeouts;
  /// Sends a PROXY protocol header of this version (1 or 2; 0, the
  /// default: none) as soon as the TCP connection is up, before anything
  /// else, as a load balancer does for a server behind
  /// ServeOptions::accept_proxy. It names send_proxy_source as the client,
  /// or this connection's own address. TCP only.
  int send_proxy = 0;
  /// The client the header names (a proxy passing on its own client's);
  /// one of another address family than the connection's is not named.
  std::optional<asio::ip::tcp::endpoint> send_proxy_source;
};

/// Resolves host (IPv4 and IPv6) and connects to the first address that
/// answers; performs the TLS handshake when options.tls is set and
/// options.upgradeable is not.
/// @throws Error errc::resolve_failed, errc::connect_timeout, or the
///         handshake's error; std::system_error when every address refuses.
/// @param host a name or an IP address.
/// @param port the TCP port.
/// @param options TLS, timeouts, the name to verify.
UPTLS_API asio::awaitable<Stream> open_connection(std::string host, std::uint16_t port,
                                                  ConnectOptions options = {});

/// Connects to a Unix domain socket at path; TLS as open_connection does
/// (options.server_name is the name to verify; it defaults to "localhost").
/// @param path the socket's path.
/// @param options TLS, timeouts, the name to verify.
/// @throws std::system_error when nobody listens at path; the handshake's error.
UPTLS_API asio::awaitable<Stream> open_unix_connection(std::string path,
                                                       ConnectOptions options = {});

namespace detail {
UPTLS_API asio::awaitable<std::tuple<std::error_code, Stream>> open_connection_result(
    std::string host, std::uint16_t port, ConnectOptions options);
}

/// Initiates open_connection with any completion token.
/// @param executor where the connection's I/O runs.
/// @param host a name or an IP address.
/// @param port the TCP port.
/// @param options TLS, timeouts, the name to verify.
/// @param token completion token for `void(std::error_code, Stream)`. On
///        failure the Stream is closed and its error_message() says what
///        happened (which name failed verification, which step timed out).
///        Like every async_ form, it never completes with success after a
///        failure.
template <typename Token>
auto async_open_connection(asio::any_io_executor executor, std::string host, std::uint16_t port,
                           ConnectOptions options, Token&& token) {
  return detail::launch<void(std::error_code, Stream)>(
      executor, std::forward<Token>(token),
      detail::open_connection_result(std::move(host), port, std::move(options)));
}

}  // namespace uptls
