// The PROXY protocol's two header formats (HAProxy's proxy-protocol.txt),
// parsed strictly and never past the header's end.

#include "uptls/proxy_protocol.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "printable.hpp"

namespace uptls::proxy_protocol {
namespace {

using Status = Parsed::Status;

constexpr std::string_view v1_signature = "PROXY ";
constexpr std::size_t v1_max_size = 107;  // §2.1: the longest line, CRLF included
constexpr std::string_view v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t v2_fixed = 16;
constexpr std::size_t max_unique_id = 128;  // §2.2.5

Parsed failure(std::string error) {
  Parsed parsed;
  parsed.status = Status::malformed;
  parsed.error = std::move(error);
  return parsed;
}

Parsed status(Status status) {
  Parsed parsed;
  parsed.status = status;
  return parsed;
}

/// Whether bytes are the start of signature (or all of it and more).
bool begins(std::string_view bytes, std::string_view signature) {
  std::size_t n = std::min(bytes.size(), signature.size());
  return bytes.substr(0, n) == signature.substr(0, n);
}

/// A decimal port without sign or leading zero.
std::optional<std::uint16_t> port_of(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  for (;;) {
    std::size_t space = line.find(' ', start);
    words.push_back(line.substr(start, space - start));
    if (space == std::string_view::npos) return words;
    start = space + 1;
  }
}

Parsed parse_v1(std::string_view bytes) {
  std::size_t window = std::min(bytes.size(), v1_max_size);
  std::size_t end = bytes.substr(0, window).find('\n');
  if (end == std::string_view::npos) {
    if (bytes.size() >= v1_max_size) {
      return failure("a version 1 header longer than " + std::to_string(v1_max_size) + " bytes");
    }
    return status(Status::incomplete);
  }
  if (end == 0 || bytes[end - 1] != '\r') return failure("a version 1 header not ended by CRLF");
  std::string_view line = bytes.substr(0, end - 1);
  std::vector<std::string_view> words = split_spaces(line);
  Parsed parsed;
  parsed.status = Status::complete;
  parsed.size = end + 1;
  parsed.header.version = 1;
  if (words.size() >= 2 && words[1] == "UNKNOWN") return parsed;  // §2.1: the rest is ignored
  std::string quoted = detail::printable(line, 120);
  if (words.size() != 6 || (words[1] != "TCP4" && words[1] != "TCP6")) {
    return failure("not a version 1 header: " + quoted);
  }
  std::error_code ec_source;
  std::error_code ec_destination;
  auto source = asio::ip::make_address(std::string(words[2]), ec_source);
  auto destination = asio::ip::make_address(std::string(words[3]), ec_destination);
  bool v4 = words[1] == "TCP4";
  auto scoped = [](const asio::ip::address& address) {
    return address.is_v6() && address.to_v6().scope_id() != 0;
  };
  if (ec_source || ec_destination || source.is_v4() != v4 || destination.is_v4() != v4 ||
      scoped(source) || scoped(destination)) {
    return failure("version 1 addresses that are not " + std::string(words[1]) + ": " + quoted);
  }
  auto source_port = port_of(words[4]);
  auto destination_port = port_of(words[5]);
  if (!source_port || !destination_port) return failure("version 1 ports out of range: " + quoted);
  parsed.header.local = false;
  parsed.header.source = {source, *source_port};
  parsed.header.destination = {destination, *destination_port};
  return parsed;
}

std::uint16_t be16(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[at]) << 8) |
                                    static_cast<unsigned char>(bytes[at + 1]));
}

std::uint32_t crc32c(std::string_view bytes) {
  std::uint32_t crc = 0xffffffff;
  for (char c : bytes) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82f63b78 & (0 - (crc & 1)));
  }
  return ~crc;
}

template <std::size_t N>
asio::ip::tcp::endpoint endpoint_at(std::string_view block, std::size_t address_at,
                                    std::size_t port_at) {
  std::array<unsigned char, N> raw{};
  std::copy_n(block.data() + address_at, N, raw.begin());
  std::uint16_t port = be16(block, port_at);
  if constexpr (N == 4) {
    return {asio::ip::address_v4(raw), port};
  } else {
    return {asio::ip::address_v6(raw), port};
  }
}

/// The TLVs after the address block; the CRC32C one checked over header.
std::optional<std::string> read_tlvs(std::string_view header, std::size_t at,
                                     std::vector<Tlv>& tlvs) {
  while (at < header.size()) {
    if (header.size() - at < 3) return "a TLV cut short by the header's length";
    std::uint8_t type = static_cast<std::uint8_t>(header[at]);
    std::size_t length = be16(header, at + 1);
    if (header.size() - at - 3 < length) return "a TLV longer than the header";
    std::string_view value = header.substr(at + 3, length);
    if (type == tlv::crc32c) {
      if (length != 4) return "a CRC32C TLV of " + std::to_string(length) + " bytes";
      std::string zeroed(header);
      std::fill_n(zeroed.begin() + static_cast<std::ptrdiff_t>(at + 3), 4, '\0');
      std::uint32_t sent = (std::uint32_t{be16(value, 0)} << 16) | be16(value, 2);
      if (crc32c(zeroed) != sent) return "a CRC32C that does not match the header";
    }
    if (type == tlv::unique_id && length > max_unique_id) {
      return "a UNIQUE_ID TLV longer than " + std::to_string(max_unique_id) + " bytes";
    }
    if (type != tlv::noop) tlvs.push_back(Tlv{type, std::string(value)});
    at += 3 + length;
  }
  return std::nullopt;
}

Parsed parse_v2(std::string_view bytes, std::size_t max_size) {
  if (bytes.size() < v2_fixed) return status(Status::incomplete);
  auto version_command = static_cast<unsigned char>(bytes[12]);
  auto family_transport = static_cast<unsigned char>(bytes[13]);
  std::size_t total = v2_fixed + be16(bytes, 14);
  if ((version_command >> 4) != 2) return failure("a version 2 signature with another version");
  unsigned command = version_command & 0x0f;
  if (command > 1) return failure("a version 2 header with command " + std::to_string(command));
  unsigned family = family_transport >> 4;
  unsigned transport = family_transport & 0x0f;
  if (family > 3 || transport > 2) return failure("a version 2 header with an unknown family");
  if (total > max_size) {
    return failure("a version 2 header of " + std::to_string(total) + " bytes (at most " +
                   std::to_string(max_size) + ")");
  }
  if (bytes.size() < total) return status(Status::incomplete);
  std::string_view header = bytes.substr(0, total);
  Parsed parsed;
  parsed.status = Status::complete;
  parsed.size = total;
  parsed.header.version = 2;
  // §2.2: a LOCAL header's addresses are discarded; UNSPEC has none.
  if (command == 0 || family == 0) return parsed;
  static constexpr std::size_t block_size[] = {0, 12, 36, 216};
  std::size_t block = block_size[family];
  if (total - v2_fixed < block) return failure("a version 2 address block cut short");
  if (transport != 1 && family != 3) return failure("a version 2 header for a datagram");
  std::string_view addresses = header.substr(v2_fixed);
  if (family == 1) {
    parsed.header.source = endpoint_at<4>(addresses, 0, 8);
    parsed.header.destination = endpoint_at<4>(addresses, 4, 10);
    parsed.header.local = false;
  } else if (family == 2) {
    parsed.header.source = endpoint_at<16>(addresses, 0, 32);
    parsed.header.destination = endpoint_at<16>(addresses, 16, 34);
    parsed.header.local = false;
  }
  if (auto error = read_tlvs(header, v2_fixed + block, parsed.header.tlvs)) return failure(*error);
  return parsed;
}

void put16(std::string& out, std::uint16_t value) {
  out += static_cast<char>(value >> 8);
  out += static_cast<char>(value & 0xff);
}

template <typename Bytes>
void put_bytes(std::string& out, const Bytes& bytes) {
  for (unsigned char byte : bytes) out += static_cast<char>(byte);
}

}  // namespace

const Tlv* Header::find(std::uint8_t type) const noexcept {
  auto found =
      std::find_if(tlvs.begin(), tlvs.end(), [type](const Tlv& t) { return t.type == type; });
  return found == tlvs.end() ? nullptr : &*found;
}

Parsed parse(std::string_view bytes, std::size_t max_size) {
  if (bytes.empty()) return status(Status::incomplete);
  if (begins(bytes, v1_signature)) {
    if (bytes.size() < v1_signature.size()) return status(Status::incomplete);
    return parse_v1(bytes);
  }
  if (begins(bytes, v2_signature)) {
    if (bytes.size() < v2_signature.size()) return status(Status::incomplete);
    return parse_v2(bytes, max_size);
  }
  return status(Status::absent);
}

std::string encode(int version, const asio::ip::tcp::endpoint& source,
                   const asio::ip::tcp::endpoint& destination, const std::vector<Tlv>& tlvs) {
  bool v4 = source.address().is_v4();
  if (v4 != destination.address().is_v4()) {
    throw std::invalid_argument("PROXY header: the source and the destination differ in family");
  }
  if (version == 1) {
    if (!tlvs.empty()) throw std::invalid_argument("PROXY header: version 1 carries no TLVs");
    return std::string(v1_signature) + (v4 ? "TCP4 " : "TCP6 ") + source.address().to_string() +
           " " + destination.address().to_string() + " " + std::to_string(source.port()) + " " +
           std::to_string(destination.port()) + "\r\n";
  }
  if (version != 2) throw std::invalid_argument("PROXY header: version 1 or 2");
  std::string body;
  if (v4) {
    put_bytes(body, source.address().to_v4().to_bytes());
    put_bytes(body, destination.address().to_v4().to_bytes());
  } else {
    put_bytes(body, source.address().to_v6().to_bytes());
    put_bytes(body, destination.address().to_v6().to_bytes());
  }
  put16(body, source.port());
  put16(body, destination.port());
  for (const Tlv& t : tlvs) {
    if (t.value.size() > 0xffff) throw std::invalid_argument("PROXY header: a TLV too long");
    body += static_cast<char>(t.type);
    put16(body, static_cast<std::uint16_t>(t.value.size()));
    body += t.value;
  }
  if (body.size() > 0xffff) throw std::invalid_argument("PROXY header: too long");
  std::string out(v2_signature);
  out += static_cast<char>(0x21);              // version 2, PROXY
  out += static_cast<char>(v4 ? 0x11 : 0x21);  // TCP over IPv4 or IPv6
  put16(out, static_cast<std::uint16_t>(body.size()));
  return out + body;
}

bool Network::contains(const asio::ip::address& candidate) const noexcept {
  asio::ip::address other = candidate;
  if (other.is_v6() && other.to_v6().is_v4_mapped()) {
    other = asio::ip::make_address_v4(asio::ip::v4_mapped, other.to_v6());
  }
  if (other.is_v4() != address.is_v4()) return false;
  auto compare = [this](const auto& mine, const auto& theirs) {
    unsigned bits = prefix;
    for (std::size_t i = 0; i < mine.size() && bits > 0; ++i) {
      unsigned take = std::min(bits, 8u);
      unsigned mask = (0xff00u >> take) & 0xffu;
      if ((mine[i] & mask) != (theirs[i] & mask)) return false;
      bits -= take;
    }
    return true;
  };
  if (address.is_v4()) return compare(address.to_v4().to_bytes(), other.to_v4().to_bytes());
  return compare(address.to_v6().to_bytes(), other.to_v6().to_bytes());
}

Network parse_network(std::string_view text) {
  std::size_t slash = text.find('/');
  std::string address_text(text.substr(0, slash));
  std::error_code ec;
  Network network;
  network.address = asio::ip::make_address(address_text, ec);
  if (ec) throw std::invalid_argument("not an IP address: " + detail::printable(address_text));
  unsigned most = network.address.is_v4() ? 32 : 128;
  network.prefix = most;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    auto [end, error] =
        std::from_chars(digits.data(), digits.data() + digits.size(), network.prefix);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
        network.prefix > most) {
      throw std::invalid_argument("not a prefix length (0 to " + std::to_string(most) +
                                  "): " + detail::printable(std::string(text)));
    }
  }
  return network;
}

bool trusted(const std::vector<Network>& networks, const asio::ip::address& address) {
  return networks.empty() || std::any_of(networks.begin(), networks.end(),
                                         [&](const Network& n) { return n.contains(address); });
}

}  // namespace uptls::proxy_protocol
