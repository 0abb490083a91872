#pragma once
/// @file
/// An HTTP/1.1 forward proxy (seed 002): CONNECT tunnels relayed untouched
/// or intercepted with certificates minted per host, absolute-form requests
/// forwarded, a status page for requests addressed to the proxy itself.
/// Run it with start_server: `start_server(proxy_handler(options), host, port)`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "uptls/export.hpp"
#include "uptls/http.hpp"
#include "uptls/server.hpp"
#include "uptls/tls/authority.hpp"
#include "uptls/tls/config.hpp"

namespace uptls {

/// One entry of a proxy's log: a tunnel, or one request and its response.
struct ProxyEvent {
  /// The client's address and port.
  std::string client;
  /// "tunnel" (CONNECT relayed untouched), "intercept" (a request inside an
  /// intercepted tunnel), "forward" (an absolute-form request), "local"
  /// (answered by the proxy itself: its status page, a refusal).
  std::string mode;
  /// The request method (CONNECT for a tunnel).
  std::string method;
  /// "https://host/path", "http://host:8080/path", or "host:443" for a tunnel.
  std::string url;
  /// The status the client got; 0 when it got none.
  int status = 0;
  /// Request body bytes (a tunnel: bytes from the client).
  std::uint64_t request_bytes = 0;
  /// Response body bytes (a tunnel: bytes to the client).
  std::uint64_t response_bytes = 0;
  /// From the request's head to the response's end (a tunnel: its life).
  std::chrono::microseconds duration{0};
  /// Why the exchange failed, when it did.
  std::string error;
};

/// How a proxy behaves. The defaults make a tunnelling proxy for port 443.
struct ProxyOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// Tunnels to port 443 only, no authentication, no interception.
  ProxyOptions() = default;

  /// The ports CONNECT and `https://` absolute-form requests (TLS to the
  /// origin) may reach; others get 403. `http://` requests go to any port.
  std::vector<std::uint16_t> connect_ports{443};
  /// "user:password": clients must send them as Basic proxy credentials
  /// (407 otherwise, a second later when the credentials were wrong, so
  /// that guesses are slow). Empty: no authentication.
  std::string basic_auth;
  /// When set, CONNECT tunnels are intercepted: the client's handshake is
  /// answered with a certificate this CA issues for the name it asks for
  /// (SNI, or the CONNECT host; an IP address gets an IP SAN), kept for
  /// the certificates_kept names used most recently; each request inside is
  /// logged. A CONNECT host that is neither a DNS name nor an IP address
  /// gets 502.
  std::shared_ptr<const tls::DevAuthority> authority;
  /// How many minted certificates are kept, for all hosts and names
  /// together (each costs about 20 KiB).
  std::size_t certificates_kept = 1024;
  /// When set, intercepted and forwarded requests are answered with 200
  /// and this body instead of going upstream (seed 002 answers "OK").
  std::optional<std::string> answer;
  /// How intercepted tunnels and https:// requests reach their origin.
  /// Null: the system trust store, names verified, ALPN http/1.1.
  std::shared_ptr<const tls::ClientConfig> upstream_tls;
  /// How large request and response heads may be.
  http::Limits limits;
  /// Sends a PROXY protocol header of this version (1 or 2; 0: none) first
  /// on every upstream connection, naming the proxy's client, for an origin
  /// behind ServeOptions::accept_proxy.
  int send_proxy = 0;
  /// How long reaching an upstream may take.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Receives each event; called from the connection's strand (several
  /// threads at once with a multi-threaded server). Empty: nothing logged.
  std::function<void(const ProxyEvent&)> log;
};

/// The connection handler of a proxy, for start_server without TLS (the
/// proxy's own listener speaks plaintext HTTP, as curl's --proxy http://
/// expects). Upstream connections take the server's timeouts: the idle
/// timeout bounds each tunnel (no byte either way), the write timeout each
/// write on either side.
/// @throws Error (errc::invalid_config) when the upstream TLS configuration
///         cannot be built.
UPTLS_API Handler proxy_handler(ProxyOptions options);

}  // namespace uptls
