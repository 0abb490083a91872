#pragma once
// The OpenSSL contexts behind the public configurations, for the library's
// own use (the public native_handle() is for users).

#include <string>

#include "tls/handles.hpp"
#include "uptls/tls/config.hpp"

namespace uptls::tls::detail {

struct ConfigAccess {
  static SSL_CTX* context(const ClientConfig& config) noexcept;
  static SSL_CTX* context(const ServerConfig& config) noexcept;
};

/// Server role: the name a handshake whose client sends no SNI is answered
/// for, chosen among the configuration's identities as SNI would choose.
/// name outlives the handshake; null: none.
void answer_without_sni(SSL* ssl, const std::string* name) noexcept;

inline SSL_CTX* context_of(const ClientConfig& config) noexcept {
  return ConfigAccess::context(config);
}

inline SSL_CTX* context_of(const ServerConfig& config) noexcept {
  return ConfigAccess::context(config);
}

}  // namespace uptls::tls::detail
