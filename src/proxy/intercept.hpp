#pragma once
// Interception of a CONNECT tunnel: the client's handshake answered with a
// certificate minted for the name it asks for, the origin reached over its
// own verified TLS, each request inside forwarded and logged.

#include <asio/awaitable.hpp>

#include "proxy/client.hpp"
#include "proxy/target.hpp"

namespace uptls::proxy {

/// Intercepts the tunnel that `connect` (a CONNECT request to target) asks
/// for, until the client or the origin ends it. A target that is neither a
/// DNS name nor an IP address gets 502 (no certificate can name it).
asio::awaitable<void> intercept(Client& client, const http::Request& connect, const Target& target);

}  // namespace uptls::proxy
