#pragma once
// BER as LDAP uses it (RFC 4511 §5.1): definite lengths only, one-byte
// tags; enough to read and write LDAPMessages.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uptls::detail {

/// One tag-length-value element.
struct Tlv {
  std::uint8_t tag = 0;
  std::string_view value;
  std::size_t size = 0;  // the whole element
};

enum class BerRead { ok, need_more, invalid, too_large };

/// Reads the element at the front of data.
inline BerRead read_tlv(std::string_view data, Tlv& out, std::size_t max_size) {
  if (data.size() < 2) return BerRead::need_more;
  out.tag = static_cast<std::uint8_t>(data[0]);
  if ((out.tag & 0x1f) == 0x1f) return BerRead::invalid;  // multi-byte tags: not in LDAP
  auto first = static_cast<std::uint8_t>(data[1]);
  std::size_t length = 0;
  std::size_t header = 2;
  if (first & 0x80) {
    std::size_t count = first & 0x7f;
    if (count == 0 || count > 4) return BerRead::invalid;  // indefinite, or absurd
    if (data.size() < 2 + count) return BerRead::need_more;
    for (std::size_t i = 0; i < count; ++i) {
      length = (length << 8) | static_cast<std::uint8_t>(data[2 + i]);
    }
    header += count;
  } else {
    length = first;
  }
  if (length > max_size) return BerRead::too_large;
  if (data.size() < header + length) return BerRead::need_more;
  out.value = data.substr(header, length);
  out.size = header + length;
  return BerRead::ok;
}

/// The elements of a constructed value, in order; false when malformed.
inline bool read_all(std::string_view value, std::vector<Tlv>& out) {
  while (!value.empty()) {
    Tlv tlv;
    if (read_tlv(value, tlv, value.size()) != BerRead::ok) return false;
    out.push_back(tlv);
    value.remove_prefix(tlv.size);
  }
  return true;
}

/// An INTEGER or ENUMERATED value, if it fits.
inline bool read_integer(std::string_view value, long& out) {
  if (value.empty() || value.size() > 4) return false;
  long n = static_cast<signed char>(value[0]);
  for (std::size_t i = 1; i < value.size(); ++i) n = n * 256 + static_cast<std::uint8_t>(value[i]);
  out = n;
  return true;
}

/// An element with its length encoded as BER wants.
inline std::string tlv(std::uint8_t tag, std::string_view value) {
  std::string out(1, static_cast<char>(tag));
  std::size_t n = value.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else {
    std::string length;
    for (; n > 0; n >>= 8) length.insert(length.begin(), static_cast<char>(n & 0xff));
    out += static_cast<char>(0x80 | length.size());
    out += length;
  }
  out.append(value);
  return out;
}

/// An INTEGER (or, with tag 0x0a, ENUMERATED) element.
inline std::string integer(long value, std::uint8_t tag = 0x02) {
  std::string bytes;
  do {
    bytes.insert(bytes.begin(), static_cast<char>(value & 0xff));
    value >>= 8;
  } while (value != 0 && value != -1);
  if (value == 0 && (static_cast<std::uint8_t>(bytes[0]) & 0x80)) bytes.insert(bytes.begin(), '\0');
  return tlv(tag, bytes);
}

}  // namespace uptls::detail
