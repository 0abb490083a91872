#pragma once
/// @file
/// A TCP server that runs one coroutine per connection (seed 000's and 001's
/// start_server).

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "uptls/stream.hpp"
#include "uptls/tls/config.hpp"

namespace uptls {

/// The coroutine run for each accepted connection. It owns the stream.
using Handler = std::function<asio::awaitable<void>(Stream)>;

/// How start_server serves.
struct ServeOptions {
  // Deliberately not an aggregate: GCC 12 destroys aggregate temporaries in a
  // co_await expression twice. Set the fields you need on a named object.
  ServeOptions() = default;

  /// The server's TLS configuration, given to every accepted stream.
  std::shared_ptr<const tls::ServerConfig> tls;
  /// With tls: connections start in plaintext and the handler calls
  /// start_tls() (upgradeable, the default); without: each connection is
  /// TLS from its first byte (implicit TLS) and the handler sees it upgraded.
  bool upgradeable = true;
  /// The timeouts of every accepted stream.
  Timeouts timeouts;
  /// Receives one line per connection that ended in an error (a handler
  /// that threw, a failed implicit handshake). Default: standard error.
  std::function<void(std::string_view)> log;
};

/// A listening server. Copies refer to the same server.
class Server {
 public:
  /// The address and port the server listens on (the real port when 0 was asked).
  asio::ip::tcp::endpoint local_endpoint() const;

  /// The number of connections whose handler is running.
  std::size_t connections() const noexcept;

  /// Replaces the TLS configuration (a renewed certificate, say) for the
  /// connections accepted from now on; open connections keep theirs. Call
  /// it on the server's executor.
  void set_tls(std::shared_ptr<const tls::ServerConfig> config);

  /// Completes when the server has stopped and every handler has finished.
  asio::awaitable<void> serve_forever();

  /// Stops accepting, lets running handlers finish for up to grace, then
  /// aborts the connections that remain; completes when all have ended.
  asio::awaitable<void> stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
  friend asio::awaitable<Server> start_server(Handler, std::string, std::uint16_t, ServeOptions);
};

/// Listens on host:port and starts accepting: each connection runs handler
/// in its own coroutine. A handler that throws ends its own connection only;
/// the error is logged.
/// @param host an address or a name; "" or "0.0.0.0" listens on all IPv4 addresses, "::" on all.
/// @throws std::system_error when the address cannot be bound.
asio::awaitable<Server> start_server(Handler handler, std::string host, std::uint16_t port,
                                     ServeOptions options = {});

}  // namespace uptls
