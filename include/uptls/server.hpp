#pragma once
/// @file
/// A server that runs one coroutine per connection (seed 000's and 001's
/// start_server), on TCP or a Unix domain socket, on one thread or many.

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "uptls/detail/launch.hpp"
#include "uptls/export.hpp"
#include "uptls/proxy_protocol.hpp"
#include "uptls/stream.hpp"
#include "uptls/tls/config.hpp"

namespace uptls {

/// The coroutine run for each accepted connection. It owns the stream.
using Handler = std::function<asio::awaitable<void>(Stream)>;

/// How start_server serves.
struct ServeOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// Implicit TLS when tls is set, a 5-minute idle timeout, a 1-minute
  /// write timeout, no connection limits.
  ServeOptions() {
    timeouts.idle = std::chrono::minutes(5);
    timeouts.write = std::chrono::minutes(1);
  }

  /// The server's TLS configuration, given to every accepted stream.
  std::shared_ptr<const tls::ServerConfig> tls;
  /// With tls and upgradeable: connections start in plaintext and the
  /// handler calls start_tls() (STARTTLS). With tls alone (the default, as
  /// ConnectOptions and asyncio have it): each connection is TLS from its
  /// first byte (implicit TLS) and the handler sees it upgraded.
  bool upgradeable = false;
  /// The timeouts of every accepted stream. Servers face peers they do not
  /// know: `idle` is 5 minutes by default (RFC 5321 §4.5.3.2 gives an SMTP
  /// client 5 minutes for a command), so idle and trickling connections end;
  /// `write` is 1 minute (nginx's send_timeout), so a client that stops
  /// reading what it asked for cannot hold a connection either.
  Timeouts timeouts;
  /// At most this many connections at once; 0: no limit. One more is
  /// closed as soon as it is accepted, so the server keeps descriptors for
  /// the connections it has.
  std::size_t max_connections = 0;
  /// At most this many connections at once from one client address (TCP);
  /// 0: no limit.
  std::size_t max_per_address = 0;
  /// Opens the listener with SO_REUSEPORT, so that other listeners (other
  /// processes, or other io_contexts of this one, each with its own
  /// start_server) may listen on the same port, and the kernel spreads the
  /// connections among them: `uptls serve --workers N` does this. Without
  /// it (the default), one Server on one io_context, run by any number of
  /// threads, serves the port alone.
  bool reuse_port = false;
  /// Whether each connection begins with a PROXY protocol header (v1 or v2),
  /// as a load balancer in front sends (HAProxy's `send-proxy-v2`). When it
  /// does, the client it names is the peer everywhere: Stream::peer(), the
  /// log, max_per_address; Transport::proxy_header() has the whole header.
  /// The header is read before anything else (a plaintext greeting, a
  /// ClientHello), and the bytes after it in the same segment are the
  /// client's. A header that is malformed or longer than
  /// proxy_protocol::default_max_size, or none where one is required,
  /// closes the connection, with a log line.
  proxy_protocol::Mode accept_proxy = proxy_protocol::Mode::off;
  /// The sources trusted to send a PROXY header (the load balancers); empty:
  /// every source. Under Mode::required a connection from elsewhere is
  /// closed; under Mode::optional it is served as it is, and its bytes are
  /// never taken for a header, so that no client can name another.
  std::vector<proxy_protocol::Network> proxy_from;
  /// Bounds the wait for the whole header from a trusted source. Under
  /// Mode::optional, a connection that sends nothing within it is served
  /// without one (a client that waits for the server's greeting).
  std::chrono::milliseconds proxy_timeout{3'000};
  /// Receives one line per connection that ended in an error (a handler
  /// that threw, a failed implicit handshake). Default: standard error.
  /// Called from the connection's strand: when the io_context runs on
  /// several threads, calls may come from several threads at once.
  std::function<void(std::string_view)> log;
};

/// What a Server has done since it started (Server::stats()): the counters
/// an operator's metrics are made of.
struct ServerStats {
  /// Connections accepted and served.
  std::uint64_t connections = 0;
  /// Connections open now.
  std::size_t open = 0;
  /// Connections closed at once: over max_connections or max_per_address,
  /// or out of descriptors.
  std::uint64_t refused = 0;
  /// Handshakes by outcome ("full", "resumed", "failed"), TLS version and
  /// cipher (empty for a failed one), on connections that began in TLS
  /// (implicit) or were upgraded from plaintext (upgrade: STARTTLS).
  struct Handshakes {
    /// "full", "resumed" or "failed".
    std::string outcome;
    /// "TLSv1.3", "TLSv1.2"; empty when failed.
    std::string version;
    /// OpenSSL's name of the cipher; empty when failed.
    std::string cipher;
    /// The connection began in plaintext (STARTTLS).
    bool upgrade = false;
    /// How many.
    std::uint64_t count = 0;
  };
  /// One entry per outcome, version, cipher and upgrade seen.
  std::vector<Handshakes> handshakes;
  /// Connections that ended in an error, by reason: the errc name
  /// ("idle_timeout", "proxy_header"), "tls" for a TLS alert or library
  /// error, "system" for a socket error, "other".
  std::vector<std::pair<std::string, std::uint64_t>> failures;
  /// Application bytes received by connections that have ended.
  std::uint64_t bytes_received = 0;
  /// Application bytes sent by connections that have ended.
  std::uint64_t bytes_sent = 0;
  /// The bounds of the handshake duration histogram, in seconds.
  static constexpr double handshake_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                0.25,  0.5,    1,     2.5,  5,     10};
  /// How many handshakes took at most each bound (cumulative, as
  /// Prometheus's histogram buckets are).
  std::vector<std::uint64_t> handshake_buckets;
  /// Handshakes timed (every one, failed too).
  std::uint64_t handshake_count = 0;
  /// The seconds they took, in all.
  double handshake_seconds = 0;
};

class Server;

namespace detail {
UPTLS_API asio::awaitable<std::tuple<std::error_code, Server>> start_server_result(
    Handler handler, std::string host, std::uint16_t port, ServeOptions options);
UPTLS_API asio::awaitable<std::tuple<std::error_code, Server>> start_unix_server_result(
    Handler handler, std::string path, ServeOptions options);
}  // namespace detail

/// A listening server. Copies refer to the same server. It serves until
/// stop() is awaited, whether or not a Server is kept: keep one, or the
/// server cannot be stopped (hence [[nodiscard]]).
///
/// Threads: the server accepts on a strand of the executor it was started
/// on and runs each connection on a strand of its own, so the io_context
/// may be run by any number of threads (`uptls serve --threads N`); a
/// handler needs no locking for its own stream. Every member function is
/// safe to call from any thread.
class [[nodiscard]] UPTLS_API Server {
 public:
  /// A server that serves nothing (as one whose start failed): stop() and
  /// serve_forever() complete at once.
  Server() = default;

  /// Empty for a server that runs; for the Server an async_start_server
  /// that failed completes with, the whole message (the error code's
  /// message() is only its category's). Such a server serves nothing: its
  /// stop() and serve_forever() complete at once, and local_endpoint()
  /// throws with this message.
  const std::string& error_message() const noexcept { return failure_; }

  /// The TCP address and port the server listens on (the real port when 0
  /// was asked).
  /// @throws std::system_error for a Unix domain socket server.
  asio::ip::tcp::endpoint local_endpoint() const;

  /// Where the server listens, as text: "127.0.0.1:10001", "[::1]:25",
  /// "unix:/run/app.sock".
  std::string address() const;

  /// The number of connections whose handler is running.
  std::size_t connections() const noexcept;

  /// What the server has done since it started; empty for a server that
  /// serves nothing. Safe from any thread.
  ServerStats stats() const;

  /// Replaces the TLS configuration (a renewed certificate, say) for the
  /// connections accepted from now on; open connections keep theirs.
  /// @param config the new configuration.
  void set_tls(std::shared_ptr<const tls::ServerConfig> config);

  /// Completes when the server has stopped and every handler has finished.
  asio::awaitable<void> serve_forever();

  /// Stops accepting, lets running handlers finish for up to grace, then
  /// ends the connections that remain (a TLS connection with close_notify
  /// when it is not in the middle of a record, so its peer sees a clean
  /// end); completes when all have ended. Their handlers see
  /// errc::stream_closed, which is not logged.
  /// @param grace how long running handlers may take to finish.
  asio::awaitable<void> stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  friend asio::awaitable<Server> start_server(Handler handler, std::string host, std::uint16_t port,
                                              ServeOptions options);
  friend asio::awaitable<Server> start_unix_server(Handler handler, std::string path,
                                                   ServeOptions options);
  friend asio::awaitable<std::tuple<std::error_code, Server>> detail::start_server_result(
      Handler, std::string, std::uint16_t, ServeOptions);
  friend asio::awaitable<std::tuple<std::error_code, Server>> detail::start_unix_server_result(
      Handler, std::string, ServeOptions);

 private:
  struct Impl;
  explicit Server(std::shared_ptr<Impl> impl);
  explicit Server(std::string failure);
  static asio::awaitable<std::tuple<std::error_code, Server>> result_of(
      asio::awaitable<Server> start);
  std::shared_ptr<Impl> impl_;
  std::string failure_;
};

/// Listens on host:port and starts accepting: each connection runs handler
/// in its own coroutine, on its own strand. A handler that throws ends its
/// own connection only; the error is logged.
/// @param handler run for each connection.
/// @param host an address or a name; "" or "0.0.0.0" listens on all IPv4 addresses, "::" on all.
/// @param port the port; 0 picks a free one (see Server::local_endpoint).
/// @param options TLS, timeouts and logging.
/// @throws std::system_error when the address cannot be bound.
UPTLS_API asio::awaitable<Server> start_server(Handler handler, std::string host,
                                               std::uint16_t port, ServeOptions options = {});

/// Listens on a Unix domain socket at path and starts accepting, as
/// start_server does. A stale socket file (nobody listening) is replaced;
/// the file is removed when the server stops.
/// @param handler run for each connection.
/// @param path the socket's path.
/// @param options TLS, timeouts and logging.
/// @throws std::system_error when the path cannot be bound (a server is
///         listening there, or the directory is not writable).
UPTLS_API asio::awaitable<Server> start_unix_server(Handler handler, std::string path,
                                                    ServeOptions options = {});

/// Initiates start_server with any completion token (a callback,
/// asio::use_future, asio::as_tuple(asio::use_awaitable), ...): completes
/// with (error_code, Server). When the address cannot be bound the code
/// says why and the Server's error_message() holds the whole message.
/// @param executor where the server's accept loop and handlers run.
/// @param handler run for each connection.
/// @param host an address or a name, as for start_server.
/// @param port the port; 0 picks a free one.
/// @param options TLS, timeouts and logging.
/// @param token the completion token, for void(std::error_code, Server).
template <typename Token>
auto async_start_server(asio::any_io_executor executor, Handler handler, std::string host,
                        std::uint16_t port, ServeOptions options, Token&& token) {
  return detail::launch<void(std::error_code, Server)>(
      executor, std::forward<Token>(token),
      detail::start_server_result(std::move(handler), std::move(host), port, std::move(options)));
}

/// Initiates start_unix_server with any completion token, as
/// async_start_server does.
/// @param executor where the server's accept loop and handlers run.
/// @param handler run for each connection.
/// @param path the socket's path.
/// @param options TLS, timeouts and logging.
/// @param token the completion token, for void(std::error_code, Server).
template <typename Token>
auto async_start_unix_server(asio::any_io_executor executor, Handler handler, std::string path,
                             ServeOptions options, Token&& token) {
  return detail::launch<void(std::error_code, Server)>(
      executor, std::forward<Token>(token),
      detail::start_unix_server_result(std::move(handler), std::move(path), std::move(options)));
}

}  // namespace uptls
