#pragma once
// PostgreSQL's wire format (protocol 3.0): integers, messages and errors, shared by the dialogues
// and the sessions of uptls serve.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace uptls::detail::postgres {

constexpr std::uint32_t ssl_request = 80877103;
constexpr std::uint32_t gss_request = 80877104;
constexpr std::uint32_t cancel_request = 80877102;
constexpr std::uint32_t protocol_3 = 196608;
constexpr std::size_t max_startup = 10000;  // PostgreSQL's MAX_STARTUP_PACKET_LENGTH

inline std::uint32_t be32(std::string_view bytes) {
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < 4; ++i) n = (n << 8) | static_cast<std::uint8_t>(bytes[i]);
  return n;
}

inline std::string int32(std::uint32_t n) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i, n >>= 8)
    out[static_cast<std::size_t>(i)] = static_cast<char>(n & 0xff);
  return out;
}

inline std::string int16(std::uint16_t n) {
  return {static_cast<char>(n >> 8), static_cast<char>(n & 0xff)};
}

/// A backend message: its type, its length, its body.
inline std::string message(char type, std::string_view body) {
  return std::string(1, type) + int32(static_cast<std::uint32_t>(body.size() + 4)) +
         std::string(body);
}

inline std::string cstring(std::string_view text) { return std::string(text) + '\0'; }

/// An ErrorResponse: the severity, the SQLSTATE code, the message.
inline std::string error_response(std::string_view severity, std::string_view code,
                                  std::string_view text) {
  std::string body;
  // Appended one by one: GCC 12 warns (-Wrestrict) on "S" + std::string.
  body.append(1, 'S').append(severity).append(1, '\0');
  body.append(1, 'V').append(severity).append(1, '\0');
  body.append(1, 'C').append(code).append(1, '\0');
  body.append(1, 'M').append(text).append(1, '\0');
  body.append(1, '\0');
  return message('E', body);
}

}  // namespace uptls::detail::postgres
