#pragma once
// Whether a host is an IP address rather than a name (IP literals are not
// resolved, sent as SNI, or verified as DNS names), and whether a name is
// one a certificate may carry.

#include <asio/ip/address.hpp>
#include <string>
#include <string_view>

namespace uptls::detail {

inline bool is_ip_literal(const std::string& text) {
  asio::error_code ec;
  asio::ip::make_address(text, ec);
  return !ec;
}

/// Whether name is a DNS name a certificate may carry: labels of letters,
/// digits, hyphens (and underscores, which real host names have), at most
/// 63 bytes each and 253 in all, the first of them "*" for a wildcard.
inline bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  if (name.substr(0, 2) == "*.") name.remove_prefix(2);
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63) return false;
      label = 0;
      continue;
    }
    char c = name[i];
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_';
    if (!allowed) return false;
    ++label;
  }
  return true;
}

}  // namespace uptls::detail
