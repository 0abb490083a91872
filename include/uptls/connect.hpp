#pragma once
/// @file
/// Opening client connections (seed 000's and 001's open_connection).

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "uptls/stream.hpp"
#include "uptls/tls/config.hpp"

namespace uptls {

/// How open_connection connects.
struct ConnectOptions {
  // Deliberately not an aggregate: GCC 12 destroys aggregate temporaries in a
  // co_await expression twice. Set the fields you need on a named object.
  ConnectOptions() = default;

  /// The TLS configuration. Without upgradeable the handshake happens right
  /// after connecting (implicit TLS); with it, at start_tls().
  std::shared_ptr<const tls::ClientConfig> tls;
  /// Defer TLS until start_tls() (seed 001).
  bool upgradeable = false;
  /// The name for SNI and certificate verification when it differs from the
  /// host connected to (seed 004 connects to localhost, verifies example.com).
  std::string server_name;
  /// Bounds name resolution and the TCP connect together.
  std::chrono::milliseconds connect_timeout{30'000};
  /// The stream's timeouts.
  Timeouts timeouts;
};

/// Resolves host (IPv4 and IPv6) and connects to the first address that
/// answers; performs the TLS handshake when options.tls is set and
/// options.upgradeable is not.
/// @throws Error errc::resolve_failed, errc::connect_timeout, or the
///         handshake's error; std::system_error when every address refuses.
asio::awaitable<Stream> open_connection(std::string host, std::uint16_t port,
                                        ConnectOptions options = {});

}  // namespace uptls
