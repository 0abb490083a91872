#pragma once
// What every part of a proxy connection shares: the proxy's state, and the
// client's side of the connection (its requests, the answers the proxy
// makes itself, the log of each exchange).

#include <asio/awaitable.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "proxy/target.hpp"
#include "uptls/http.hpp"
#include "uptls/proxy.hpp"
#include "uptls/stream.hpp"

namespace uptls::proxy {

/// What a proxy asks of its connector: a connection to target, over TLS
/// verified for server_name when tls is set, with the client's timeouts;
/// client: the proxy's own client (for ProxyOptions::send_proxy).
struct Reach {
  Target target;
  bool tls = false;
  std::string server_name;
  Timeouts timeouts;
  std::optional<asio::ip::tcp::endpoint> client;
};

/// How a proxy reaches an origin. The proxy's own opens TCP connections
/// (open_connection); tests give memory streams.
using Connector = std::function<asio::awaitable<Stream>(const Reach& reach)>;

/// Shared by every connection of one proxy.
struct Shared {
  /// connect: empty for TCP connections with options.upstream_tls.
  explicit Shared(ProxyOptions options, Connector connect = {});

  void log(const ProxyEvent& event) const {
    if (options.log) options.log(event);
  }

  ProxyOptions options;
  Connector connect;
  /// The Basic credentials clients must send, base64-encoded; empty: none.
  std::string expected_auth;
  /// Answers intercepted clients with certificates minted for the name
  /// each asks for; null when the proxy does not intercept.
  std::shared_ptr<const tls::ServerConfig> minting;
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> tunnels{0};
};

/// A request read from the client: parsed, as sent, and how its body is framed.
struct Incoming {
  http::Request request;
  std::string head;
  http::Framing body;
};

/// The client's side of one proxy connection.
class Client {
 public:
  using Clock = std::chrono::steady_clock;

  Client(Shared& shared, Stream& stream);

  /// Reads the next request, up to its body; false when the client is
  /// done, or was refused (400, 431: logged under mode) and its
  /// connection ends.
  asio::awaitable<bool> next_request(Incoming& in, const char* mode);

  /// Sends a response the proxy made, ends the connection and logs it.
  asio::awaitable<void> refuse(const std::string& reply, int status, const http::Request& request,
                               const char* mode, std::string why);

  /// Answers a request itself with 200 and body, once its own body is read
  /// (and dropped); returns whether the connection stays open.
  asio::awaitable<bool> respond(const Incoming& in, ProxyEvent& event, const std::string& body);

  /// Ends a failed exchange: a 502 saying why when the client has had no
  /// response yet, else an abort (the client sees an incomplete response).
  asio::awaitable<void> fail_exchange(ProxyEvent& event, bool responded, std::string why);

  /// An event for request under mode ("forward", "intercept", ...).
  ProxyEvent event_for(const http::Request& request, const char* mode) const;

  /// Logs event, timed from the start of the current request.
  void log(ProxyEvent& event) const;

  /// Ends sending; a failure is of no interest (the connection ends).
  static asio::awaitable<void> finish(Stream& stream);

  /// Ends a connection whose client may still be sending (a refused
  /// upload): ends sending, then reads and drops what comes for a while,
  /// as nginx's lingering close does, so that the client reads the
  /// response instead of a reset (a close with unread bytes sends one).
  static asio::awaitable<void> linger(Stream& stream);

  Shared& shared;
  const ProxyOptions& options;
  Stream& stream;

 private:
  std::string peer_;
  Clock::time_point started_ = Clock::now();
};

}  // namespace uptls::proxy
