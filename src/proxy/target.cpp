#include "proxy/target.hpp"

#include <algorithm>
#include <charconv>

#include "ascii.hpp"
#include "host_name.hpp"

namespace uptls::proxy {
namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

}  // namespace

std::string Target::text(bool omit_port_for, std::uint16_t default_port) const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!omit_port_for || port != default_port) out += ":" + std::to_string(port);
  return out;
}

std::optional<Target> parse_authority(std::string_view text, std::uint16_t default_port) {
  Target target;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    target.host = text.substr(1, close - 1);
    if (!detail::is_ip_literal(target.host) || target.host.find(':') == std::string::npos) {
      return std::nullopt;
    }
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
    }
  } else {
    std::size_t colon = text.rfind(':');
    target.host = text.substr(0, colon);
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
    if (target.host.empty() || target.host.size() > 253 ||
        !std::all_of(target.host.begin(), target.host.end(), is_host_char)) {
      return std::nullopt;
    }
  }
  if (port_text.empty()) {
    if (default_port == 0 || text.back() == ':') return std::nullopt;
    target.port = default_port;
    return target;
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return std::nullopt;
  }
  target.port = static_cast<std::uint16_t>(port);
  return target;
}

std::optional<Url> parse_absolute(std::string_view text) {
  Url url;
  std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string_view scheme = text.substr(0, scheme_end);
  if (!detail::iequals(scheme, "http") && !detail::iequals(scheme, "https")) return std::nullopt;
  url.tls = detail::iequals(scheme, "https");
  std::string_view rest = text.substr(scheme_end + 3);
  std::size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  auto target = parse_authority(authority, url.tls ? 443 : 80);
  if (!target) return std::nullopt;
  url.target = std::move(*target);
  url.path = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (url.path.front() == '?') url.path.insert(0, "/");
  return url;
}

}  // namespace uptls::proxy
