#pragma once
// Whether a host is an IP address rather than a name: IP literals are not
// resolved, sent as SNI, or verified as DNS names.

#include <asio/ip/address.hpp>
#include <string>

namespace uptls::detail {

inline bool is_ip_literal(const std::string& text) {
  asio::error_code ec;
  asio::ip::make_address(text, ec);
  return !ec;
}

}  // namespace uptls::detail
