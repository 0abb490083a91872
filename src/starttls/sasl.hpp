#pragma once
// SASL PLAIN (RFC 4616) as the minimal sessions accept it: any user, any
// password; the user is only logged.

#include <openssl/evp.h>

#include <optional>
#include <string>
#include <string_view>

namespace uptls::detail {

/// The user of a base64 PLAIN response (authzid NUL authcid NUL password),
/// or nothing when it is not one.
inline std::optional<std::string> sasl_plain_user(std::string_view base64) {
  if (base64.empty() || base64.size() % 4 != 0 || base64.size() > 4096) return std::nullopt;
  std::string decoded(base64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                          reinterpret_cast<const unsigned char*>(base64.data()),
                          static_cast<int>(base64.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = base64.size() - base64.find_last_not_of('=') - 1;
  decoded.resize(static_cast<std::size_t>(n) - std::min<std::size_t>(padding, 2));
  std::size_t first = decoded.find('\0');
  if (first == std::string::npos) return std::nullopt;
  std::size_t second = decoded.find('\0', first + 1);
  if (second == std::string::npos) return std::nullopt;
  return decoded.substr(first + 1, second - first - 1);
}

}  // namespace uptls::detail
