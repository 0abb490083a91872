#pragma once
// A proxy connection's loop: each request read, authenticated, routed to
// the status page, a forward, a tunnel or an interception.

#include "proxy/client.hpp"
#include "uptls/server.hpp"

namespace uptls::proxy {

/// proxy_handler, with upstream connections made by connect (empty: TCP).
Handler handler(ProxyOptions options, Connector connect);

}  // namespace uptls::proxy
