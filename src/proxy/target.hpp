#pragma once
// Where a proxy's requests go: CONNECT targets and absolute-form URLs.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uptls::proxy {

/// A host and port from a CONNECT target or a URL.
struct Target {
  std::string host;
  std::uint16_t port = 0;

  /// host:port as a URL or CONNECT target writes it ([::1]:443); the port
  /// is left out when omit_port_for is set and it is default_port.
  std::string text(bool omit_port_for = false, std::uint16_t default_port = 0) const;

  bool operator==(const Target&) const = default;
};

/// "host:port", "[v6]:port", or "host" when default_port is not 0; nullopt
/// for anything else (user info, a bad port, characters no host has).
std::optional<Target> parse_authority(std::string_view text, std::uint16_t default_port);

/// An absolute-form request target: http://host[:port]/path?query.
struct Url {
  bool tls = false;
  Target target;
  /// Origin form: "/path?query", "/" when the URL has no path.
  std::string path;
};

/// An http:// or https:// URL; nullopt for any other target.
std::optional<Url> parse_absolute(std::string_view text);

}  // namespace uptls::proxy
