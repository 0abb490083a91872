#pragma once
// One HTTP exchange from the client to an origin: the head goes up, the
// request body and the response flow at once, a kept connection that the
// origin closed while it waited is opened again once.

#include <asio/awaitable.hpp>
#include <optional>
#include <string>

#include "proxy/client.hpp"
#include "proxy/target.hpp"

namespace uptls::proxy {

/// Where requests go: an origin, and the connection kept to it.
struct Upstream {
  Target target;
  bool tls = false;
  /// The name the origin's certificate is verified for.
  std::string server_name;
  /// The kept connection; empty until one is opened, or after a failure.
  std::optional<Stream> stream;
};

/// Opens (or opens again) upstream's connection with the client's timeouts.
asio::awaitable<void> open_upstream(Client& client, Upstream& upstream);

/// Sends one request (head: as origin_head made it) over upstream's kept
/// connection, opened when there is none, and copies the response to the
/// client. When a connection that waited fails before any response and the
/// request has no body (nothing of the client's is lost), the origin
/// closed it while it was idle: it is opened again and the request sent
/// once more, as browsers and mitmproxy do. A 101 to a bodiless request
/// becomes a relay. Returns whether both connections stay open; throws
/// when the exchange fails, with a message naming the end that failed
/// (`responded`: the client has had response bytes).
asio::awaitable<bool> send_upstream(Client& client, Upstream& upstream, const Incoming& in,
                                    const std::string& head, ProxyEvent& event, bool& responded);

}  // namespace uptls::proxy
