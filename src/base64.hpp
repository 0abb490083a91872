#pragma once
// Base64 (RFC 4648) with OpenSSL's block coder: Basic credentials, SASL.

#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

namespace uptls::detail {

inline std::string base64(std::string_view text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// The decoded bytes, or nothing when text is not base64 (or is too long).
inline std::optional<std::string> unbase64(std::string_view text, std::size_t max = 4096) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > max) return std::nullopt;
  std::string decoded(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = text.size() - text.find_last_not_of('=') - 1;
  decoded.resize(static_cast<std::size_t>(n) - std::min<std::size_t>(padding, 2));
  return decoded;
}

}  // namespace uptls::detail
