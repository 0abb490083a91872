#include "proxy/intercept.hpp"

#include "host_name.hpp"
#include "proxy/hop.hpp"
#include "proxy/message.hpp"

namespace uptls::proxy {
namespace {

// The path an intercepted request goes on with: its origin form (a client
// may send the absolute form inside the tunnel too; the origin stays the
// tunnel's).
std::string path_of(const std::string& target) {
  if (auto url = parse_absolute(target)) return url->path;
  return target;
}

// Upgrades the client's side with a minted certificate; false (logged)
// when its handshake fails.
asio::awaitable<bool> upgrade_client(Client& client, const http::Request& connect,
                                     const Target& target) {
  static constexpr std::string_view established = "HTTP/1.1 200 Connection established\r\n\r\n";
  co_await client.stream.write_all(established);
  std::string failure;
  try {
    // Whatever the client pipelined after its CONNECT can only be its
    // ClientHello: it goes to the handshake, and anything else fails it.
    co_await client.stream.start_tls(client.shared.minting, target.host, CarryOver::feed_handshake);
    co_return true;
  } catch (const std::exception& e) {
    failure = e.what();
  }
  ProxyEvent event = client.event_for(connect, "intercept");
  event.status = 200;
  event.error = "the client's TLS handshake failed: " + failure;
  client.log(event);
  co_return false;
}

}  // namespace

asio::awaitable<void> intercept(Client& client, const http::Request& connect,
                                const Target& target) {
  if (!detail::is_ip_literal(target.host) && !detail::is_dns_name(target.host)) {
    ProxyEvent event = client.event_for(connect, "intercept");
    co_await client.fail_exchange(event, false,
                                  "cannot make a certificate for " + target.host +
                                      ": it is neither a DNS name nor an IP address");
    client.log(event);
    co_return;
  }
  if (!co_await upgrade_client(client, connect, target)) co_return;
  std::string server_name = target.host;
  if (auto info = client.stream.tls_info(); info && !info->server_name.empty()) {
    server_name = info->server_name;
  }
  const std::string authority = Target{server_name, target.port}.text(true, 443);
  const std::string origin = "https://" + authority;
  Upstream upstream{target, true, server_name, std::nullopt};
  std::string upstream_error;
  if (!client.options.answer) {
    try {
      co_await open_upstream(client, upstream);
    } catch (const std::exception& e) {
      upstream_error = "cannot reach " + origin + ": " + e.what();
    }
  }
  for (;;) {
    Incoming inner;
    if (!co_await client.next_request(inner, "intercept")) co_return;
    const http::Request& request = inner.request;
    std::string path = path_of(request.target);
    ProxyEvent event = client.event_for(request, "intercept");
    if (!path.empty() && path.front() == '/') event.url = origin + path;
    bool keep = false;
    bool responded = false;
    std::string why = upstream_error;
    try {
      if (client.options.answer) {
        keep = co_await client.respond(inner, event, *client.options.answer);
      } else if (why.empty()) {
        std::string head =
            origin_head(request, path, request.fields.find("Host").value_or(authority), inner.body);
        keep = co_await send_upstream(client, upstream, inner, head, event, responded);
      }
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (!why.empty()) {
      co_await client.fail_exchange(event, responded, why);
      client.log(event);
      co_return;
    }
    client.log(event);
    if (!keep) {
      co_await Client::finish(client.stream);
      co_return;
    }
  }
}

}  // namespace uptls::proxy
