#pragma once
// "address:port", IPv6 in brackets: how endpoints appear in messages.

#include <asio/ip/tcp.hpp>
#include <string>

namespace uptls::detail {

inline std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

/// The peer of a socket, or what became of it once it has none (reset
/// before it could be named).
inline std::string endpoint_text(const asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("a peer already gone") : endpoint_text(endpoint);
}

}  // namespace uptls::detail
