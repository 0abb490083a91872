#include "uptls/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

// The PROXY protocol parser against HAProxy's specification
// (proxy-protocol.txt): both versions, every prefix, the limits, and the
// bytes after the header left alone.

namespace uptls::proxy_protocol {
namespace {

using namespace std::string_literals;
using Status = Parsed::Status;

asio::ip::tcp::endpoint at(const char* address, std::uint16_t port) {
  return {asio::ip::make_address(address), port};
}

// CRC-32C as the specification defines it (Castagnoli), checked against its
// standard check value below.
std::uint32_t crc32c(std::string_view bytes) {
  std::uint32_t crc = 0xffffffff;
  for (char c : bytes) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82f63b78 & (0 - (crc & 1)));
  }
  return ~crc;
}

/// A version 2 header with a CRC32C TLV, its checksum filled in.
std::string with_checksum() {
  std::string header =
      encode(2, at("192.0.2.1", 1000), at("192.0.2.2", 25), {{tlv::crc32c, "\0\0\0\0"s}});
  std::uint32_t crc = crc32c(header);
  for (int i = 0; i < 4; ++i) {
    header[header.size() - 4 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  }
  return header;
}

TEST(ProxyProtocol, Version1NamesTheClientAndLeavesWhatFollows) {
  std::string header = "PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n";
  Parsed parsed = parse(header + "\x16\x03\x01 the ClientHello"s);
  ASSERT_EQ(parsed.status, Status::complete) << parsed.error;
  EXPECT_EQ(parsed.size, header.size());
  EXPECT_EQ(parsed.header.version, 1);
  EXPECT_FALSE(parsed.header.local);
  EXPECT_EQ(parsed.header.source, at("203.0.113.7", 56324));
  EXPECT_EQ(parsed.header.destination, at("192.0.2.1", 443));

  parsed = parse("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\nEHLO x\r\n");
  ASSERT_EQ(parsed.status, Status::complete) << parsed.error;
  EXPECT_EQ(parsed.header.source, at("2001:db8::1", 1));
  EXPECT_EQ(parsed.header.destination.port(), 65535);

  // §2.1: UNKNOWN names no client; what follows it on the line is ignored.
  for (std::string unknown : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
    parsed = parse(unknown + "PING\r\n");
    ASSERT_EQ(parsed.status, Status::complete) << unknown;
    EXPECT_TRUE(parsed.header.local);
    EXPECT_EQ(parsed.size, unknown.size());
  }
}

TEST(ProxyProtocol, EveryPrefixOfAHeaderAsksForMore) {
  std::vector<std::string> headers = {
      "PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n",
      encode(2, at("203.0.113.7", 56324), at("192.0.2.1", 443), {{tlv::authority, "example.org"}}),
      encode(2, at("2001:db8::1", 1), at("2001:db8::2", 2))};
  for (const std::string& header : headers) {
    for (std::size_t n = 0; n < header.size(); ++n) {
      EXPECT_EQ(parse(header.substr(0, n)).status, Status::incomplete) << n << " of " << header;
    }
    EXPECT_EQ(parse(header).status, Status::complete);
  }
}

TEST(ProxyProtocol, WhatIsNotAHeaderIsAbsent) {
  for (std::string bytes : {"EHLO client\r\n"s, "\x16\x03\x01\x02\x00"s, "PROXYX"s, "\r\n\r\nX"s,
                            "GET / HTTP/1.1\r\n"s}) {
    EXPECT_EQ(parse(bytes).status, Status::absent) << bytes;
  }
}

TEST(ProxyProtocol, Version1IsReadStrictly) {
  std::vector<std::string> bad = {
      "PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\n",     // LF alone
      "PROXY TCP4 203.0.113.7  192.0.2.1 56324 443\r\n",  // two spaces
      "PROXY TCP4 2001:db8::1 192.0.2.1 56324 443\r\n",   // family mismatch
      "PROXY TCP6 203.0.113.7 192.0.2.1 56324 443\r\n",   // family mismatch
      "PROXY TCP4 203.0.113.7 192.0.2.1 65536 443\r\n",   // port too large
      "PROXY TCP4 203.0.113.7 192.0.2.1 056324 443\r\n",  // leading zero
      "PROXY TCP4 203.0.113.7 192.0.2.1 -1 443\r\n",      // sign
      "PROXY TCP4 203.0.113 192.0.2.1 1 443\r\n",         // not an address
      "PROXY TCP6 fe80::1%1 fe80::2 1 443\r\n",           // a scope is not an address
      "PROXY UDP4 203.0.113.7 192.0.2.1 1 443\r\n",       // not TCP
      "PROXY TCP4 203.0.113.7 192.0.2.1 1\r\n",           // a port missing
      "PROXY " + std::string(120, 'A') + "\r\n",          // too long
  };
  for (const std::string& header : bad) {
    Parsed parsed = parse(header);
    EXPECT_EQ(parsed.status, Status::malformed) << header;
    EXPECT_FALSE(parsed.error.empty()) << header;
  }
  // 107 bytes without a line end is already too long (§2.1).
  EXPECT_EQ(parse("PROXY " + std::string(101, '1')).status, Status::malformed);
  EXPECT_EQ(parse("PROXY " + std::string(100, '1')).status, Status::incomplete);
}

TEST(ProxyProtocol, Version2CarriesAddressesAndTlvs) {
  std::string header = encode(2, at("203.0.113.7", 56324), at("192.0.2.1", 443),
                              {{tlv::authority, "example.org"}, {tlv::unique_id, "abc"}});
  Parsed parsed = parse(header + "after");
  ASSERT_EQ(parsed.status, Status::complete) << parsed.error;
  EXPECT_EQ(parsed.size, header.size());
  EXPECT_EQ(parsed.header.version, 2);
  EXPECT_EQ(parsed.header.source, at("203.0.113.7", 56324));
  EXPECT_EQ(parsed.header.destination, at("192.0.2.1", 443));
  ASSERT_NE(parsed.header.find(tlv::authority), nullptr);
  EXPECT_EQ(parsed.header.find(tlv::authority)->value, "example.org");
  EXPECT_EQ(parsed.header.find(tlv::unique_id)->value, "abc");
  EXPECT_EQ(parsed.header.find(tlv::alpn), nullptr);

  parsed = parse(encode(2, at("2001:db8::1", 1), at("2001:db8::2", 2)));
  ASSERT_EQ(parsed.status, Status::complete) << parsed.error;
  EXPECT_EQ(parsed.header.source, at("2001:db8::1", 1));
  EXPECT_EQ(parsed.header.destination, at("2001:db8::2", 2));
}

TEST(ProxyProtocol, Version2LocalAndUnspecifiedNameNoClient) {
  std::string header = encode(2, at("203.0.113.7", 1), at("192.0.2.1", 2));
  std::string local = header;
  local[12] = '\x20';  // LOCAL: a health check from the proxy itself
  Parsed parsed = parse(local);
  ASSERT_EQ(parsed.status, Status::complete);
  EXPECT_TRUE(parsed.header.local);
  std::string unspecified = "\r\n\r\n\0\r\nQUIT\n\x21\x00\x00\x00"s;
  parsed = parse(unspecified + "x");
  ASSERT_EQ(parsed.status, Status::complete);
  EXPECT_TRUE(parsed.header.local);
  EXPECT_EQ(parsed.size, 16u);
  std::string unix_socket = "\r\n\r\n\0\r\nQUIT\n\x21\x31\x00\xd8"s + std::string(216, '\0');
  parsed = parse(unix_socket);
  ASSERT_EQ(parsed.status, Status::complete) << parsed.error;
  EXPECT_TRUE(parsed.header.local);
}

TEST(ProxyProtocol, Version2IsBounded) {
  std::string header = encode(2, at("203.0.113.7", 1), at("192.0.2.1", 2));
  auto with = [&](std::size_t at_byte, char value) {
    std::string changed = header;
    changed[at_byte] = value;
    return parse(changed);
  };
  EXPECT_EQ(with(12, '\x11').status, Status::malformed);  // version 1 in a v2 signature
  EXPECT_EQ(with(12, '\x22').status, Status::malformed);  // command 2
  EXPECT_EQ(with(13, '\x41').status, Status::malformed);  // family 4
  EXPECT_EQ(with(13, '\x12').status, Status::malformed);  // UDP on a TCP connection
  EXPECT_EQ(with(15, '\x0b').status, Status::malformed);  // address block cut short

  // A length beyond the limit fails at once, before its bytes come.
  std::string huge = header.substr(0, 14) + "\xff\xff"s;
  Parsed parsed = parse(huge);
  EXPECT_EQ(parsed.status, Status::malformed);
  EXPECT_NE(parsed.error.find("65551 bytes"), std::string::npos) << parsed.error;
  EXPECT_EQ(parse(huge, 70000).status, Status::incomplete);

  // A TLV running past the header's length.
  std::string overrun = header + "\x02\x00\x09"s + "short";
  overrun[15] = static_cast<char>(12 + 3 + 5);
  EXPECT_EQ(parse(overrun).status, Status::malformed);
  // §2.2.5: UNIQUE_ID is at most 128 bytes.
  EXPECT_EQ(parse(encode(2, at("203.0.113.7", 1), at("192.0.2.1", 2),
                         {{tlv::unique_id, std::string(129, 'u')}}))
                .status,
            Status::malformed);
}

TEST(ProxyProtocol, Version2ChecksumIsChecked) {
  ASSERT_EQ(crc32c("123456789"), 0xe3069283u);  // the CRC-32C check value
  std::string header = with_checksum();
  Parsed parsed = parse(header);
  ASSERT_EQ(parsed.status, Status::complete) << parsed.error;
  EXPECT_NE(parsed.header.find(tlv::crc32c), nullptr);
  std::string changed = header;
  changed[17] ^= 1;  // the source address
  parsed = parse(changed);
  EXPECT_EQ(parsed.status, Status::malformed);
  EXPECT_NE(parsed.error.find("CRC32C"), std::string::npos) << parsed.error;
}

TEST(ProxyProtocol, EncodeRefusesWhatItCannotSay) {
  EXPECT_THROW(encode(3, at("192.0.2.1", 1), at("192.0.2.2", 2)), std::invalid_argument);
  EXPECT_THROW(encode(2, at("192.0.2.1", 1), at("2001:db8::2", 2)), std::invalid_argument);
  EXPECT_THROW(encode(1, at("192.0.2.1", 1), at("192.0.2.2", 2), {{tlv::noop, ""}}),
               std::invalid_argument);
  EXPECT_EQ(encode(1, at("192.0.2.1", 1), at("192.0.2.2", 2)),
            "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n");
}

TEST(ProxyProtocol, NetworksTrustWhatTheyContain) {
  Network ten = parse_network("10.0.0.0/8");
  EXPECT_TRUE(ten.contains(asio::ip::make_address("10.200.3.4")));
  EXPECT_FALSE(ten.contains(asio::ip::make_address("11.0.0.1")));
  EXPECT_TRUE(ten.contains(asio::ip::make_address("::ffff:10.1.1.1")));  // v4-mapped
  EXPECT_FALSE(ten.contains(asio::ip::make_address("::1")));
  Network one = parse_network("127.0.0.2");
  EXPECT_TRUE(one.contains(asio::ip::make_address("127.0.0.2")));
  EXPECT_FALSE(one.contains(asio::ip::make_address("127.0.0.3")));
  Network odd = parse_network("192.168.0.0/23");
  EXPECT_TRUE(odd.contains(asio::ip::make_address("192.168.1.255")));
  EXPECT_FALSE(odd.contains(asio::ip::make_address("192.168.2.0")));
  EXPECT_TRUE(parse_network("2001:db8::/32").contains(asio::ip::make_address("2001:db8:1::5")));
  EXPECT_TRUE(trusted({}, asio::ip::make_address("198.51.100.1")));
  EXPECT_FALSE(trusted({ten, one}, asio::ip::make_address("198.51.100.1")));
  EXPECT_TRUE(trusted({ten, one}, asio::ip::make_address("127.0.0.2")));
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8x", "example.org", "::1/129"}) {
    EXPECT_THROW(parse_network(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace uptls::proxy_protocol
