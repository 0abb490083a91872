#pragma once
/// @file
/// The PROXY protocol, versions 1 and 2 (HAProxy's specification,
/// proxy-protocol.txt): the header a load balancer sends before the
/// client's first byte, naming the client it accepted. A pure parser and an
/// encoder; a Server reads the header itself when ServeOptions asks it to.

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptls/export.hpp"

namespace uptls::proxy_protocol {

/// Whether a server reads a PROXY header.
enum class Mode {
  /// Never: the first bytes are the protocol's (the default).
  off,
  /// From a trusted source, when one comes first; a connection from
  /// anywhere else is served as it is, its bytes never taken for a header.
  optional,
  /// Every connection begins with one, from a trusted source; others are closed.
  required,
};

/// A version 2 TLV (type, length, value).
struct Tlv {
  /// The TLV's type (proxy_protocol::tlv names some).
  std::uint8_t type = 0;
  /// Its value, as sent.
  std::string value;
};

/// Some TLV types (proxy-protocol.txt §2.2).
namespace tlv {
/// The ALPN protocol the client chose with the proxy.
inline constexpr std::uint8_t alpn = 0x01;
/// The host name the client asked for (its SNI).
inline constexpr std::uint8_t authority = 0x02;
/// A checksum of the header (parse() checks it).
inline constexpr std::uint8_t crc32c = 0x03;
/// Padding (parse() drops it).
inline constexpr std::uint8_t noop = 0x04;
/// The proxy's identifier of the connection (at most 128 bytes).
inline constexpr std::uint8_t unique_id = 0x05;
/// What the proxy learned of a TLS client (sub-TLVs, kept as sent).
inline constexpr std::uint8_t ssl = 0x20;
/// The proxy's network namespace.
inline constexpr std::uint8_t netns = 0x30;
}  // namespace tlv

/// What a header says.
struct UPTLS_API Header {
  /// 1 or 2.
  int version = 0;
  /// The proxy's own connection (v2 LOCAL, v1 UNKNOWN, or an address family
  /// other than TCP over IPv4 or IPv6): no client is named, and the
  /// connection's own addresses stand.
  bool local = true;
  /// The client (when not local).
  asio::ip::tcp::endpoint source;
  /// The address the client connected to, at the proxy (when not local).
  asio::ip::tcp::endpoint destination;
  /// The version 2 TLVs, in order (the CRC32C one checked).
  std::vector<Tlv> tlvs;

  /// The first TLV of a type, or null.
  const Tlv* find(std::uint8_t type) const noexcept;
};

/// The longest header parse() accepts by default: version 1's limit is 107
/// bytes; version 2's address block and TLVs from HAProxy are far smaller.
inline constexpr std::size_t default_max_size = 4096;

/// What parse() found at the start of the bytes.
struct Parsed {
  /// What the bytes begin with.
  enum class Status {
    /// A whole header, of size bytes; what follows is the client's.
    complete,
    /// The start of one: more bytes are needed.
    incomplete,
    /// Not a header: the bytes do not begin with either signature.
    absent,
    /// A header that breaks the specification, or is too long: error says how.
    malformed,
  };
  /// What the bytes begin with.
  Status status = Status::absent;
  /// The header's length in bytes, when complete.
  std::size_t size = 0;
  /// What it says, when complete.
  Header header;
  /// How it breaks the specification, when malformed.
  std::string error;
};

/// Parses the header at the start of bytes. Never reads past the header:
/// the bytes after it, in the same read, are the client's.
/// @param bytes what the connection has sent so far.
/// @param max_size the longest header accepted.
UPTLS_API Parsed parse(std::string_view bytes, std::size_t max_size = default_max_size);

/// A header naming source as the client of a connection to destination
/// (both IPv4 or both IPv6).
/// @param version 1 (text) or 2 (binary).
/// @param source the client.
/// @param destination the address the client connected to.
/// @param tlvs version 2 TLVs to carry.
/// @throws std::invalid_argument for another version, or mixed families.
UPTLS_API std::string encode(int version, const asio::ip::tcp::endpoint& source,
                             const asio::ip::tcp::endpoint& destination,
                             const std::vector<Tlv>& tlvs = {});

/// A network in CIDR notation ("10.0.0.0/8", "::1/128", "127.0.0.1").
struct UPTLS_API Network {
  /// The network's address.
  asio::ip::address address;
  /// How many leading bits of it count.
  unsigned prefix = 0;

  /// Whether address lies in this network (an IPv4-mapped IPv6 address
  /// counts as the IPv4 one).
  bool contains(const asio::ip::address& address) const noexcept;
};

/// Parses "ADDRESS[/PREFIX]"; a missing prefix is the whole address.
/// @throws std::invalid_argument naming what is wrong.
UPTLS_API Network parse_network(std::string_view text);

/// Whether address lies in one of networks; an empty list trusts every
/// address.
UPTLS_API bool trusted(const std::vector<Network>& networks, const asio::ip::address& address);

}  // namespace uptls::proxy_protocol
