#pragma once
// SASL PLAIN (RFC 4616) as the minimal sessions accept it: any user, any
// password; the user is only logged.

#include <optional>
#include <string>
#include <string_view>

#include "base64.hpp"

namespace uptls::detail {

/// The user of a base64 PLAIN response (authzid NUL authcid NUL password),
/// or nothing when it is not one.
inline std::optional<std::string> sasl_plain_user(std::string_view response) {
  auto decoded = unbase64(response);
  if (!decoded) return std::nullopt;
  std::size_t first = decoded->find('\0');
  if (first == std::string::npos) return std::nullopt;
  std::size_t second = decoded->find('\0', first + 1);
  if (second == std::string::npos) return std::nullopt;
  return decoded->substr(first + 1, second - first - 1);
}

}  // namespace uptls::detail
