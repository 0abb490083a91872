#pragma once
// MySQL's packets (protocol 10): integers, OK, ERR and EOF packets, shared by the dialogues and the
// sessions of uptls serve.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace uptls::detail::mysql {

constexpr std::uint32_t client_long_password = 0x1;
constexpr std::uint32_t client_connect_with_db = 0x8;
constexpr std::uint32_t client_protocol_41 = 0x200;
constexpr std::uint32_t client_ssl = 0x800;
constexpr std::uint32_t client_transactions = 0x2000;
constexpr std::uint32_t client_secure_connection = 0x8000;
constexpr std::uint32_t client_multi_results = 0x20000;
constexpr std::uint32_t client_plugin_auth = 0x80000;
constexpr std::size_t max_packet = 1024 * 1024;

inline std::uint32_t le(std::string_view bytes, std::size_t n) {
  std::uint32_t value = 0;
  for (std::size_t i = n; i-- > 0;) value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
  return value;
}

inline std::string le_bytes(std::uint32_t value, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i, value >>= 8) out += static_cast<char>(value & 0xff);
  return out;
}

// Strings are built with append: GCC 12 warns (-Wrestrict) on char + string.
inline std::string packet_of(std::uint8_t sequence, std::string_view payload) {
  std::string out = le_bytes(static_cast<std::uint32_t>(payload.size()), 3);
  out.append(1, static_cast<char>(sequence)).append(payload);
  return out;
}

/// A length-encoded string (short ones only: under 251 bytes).
inline std::string lenenc(std::string_view text) {
  std::string out(1, static_cast<char>(text.size()));
  return out.append(text);
}

inline std::string ok_packet(std::uint8_t sequence) {
  return packet_of(sequence, std::string("\x00\x00\x00\x02\x00\x00\x00", 7));
}

inline std::string err_packet(std::uint8_t sequence, std::uint16_t code, std::string_view text) {
  std::string payload(1, '\xff');
  payload.append(le_bytes(code, 2)).append("#HY000").append(text);
  return packet_of(sequence, payload);
}

inline std::string eof_packet(std::uint8_t sequence) {
  return packet_of(sequence, std::string("\xfe\x00\x00\x02\x00", 5));
}

}  // namespace uptls::detail::mysql
