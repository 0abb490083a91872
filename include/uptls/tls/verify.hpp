#pragma once
/// @file
/// The verdict a handshake would reach on a certificate chain, without a
/// connection (`uptls cert verify`).

#include <chrono>
#include <optional>
#include <string>

#include "uptls/export.hpp"
#include "uptls/tls/config.hpp"
#include "uptls/tls/session_info.hpp"

namespace uptls::tls {

/// Whom a chain is verified for.
enum class Purpose {
  /// A server's certificate, as a client verifies it.
  server,
  /// A client's certificate, as a server verifies it.
  client,
};

/// What verify_chain checks against.
struct VerifyOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// The system trust store, no name, now, a server's certificate.
  VerifyOptions() = default;

  /// The CAs and CRLs; none given: the system trust store.
  Trust trust;
  /// The DNS name or IP address the certificate must hold; empty: none.
  std::string name;
  /// When the chain must be valid; none: now.
  std::optional<std::chrono::system_clock::time_point> at;
  /// A server's or a client's certificate (extended key usage).
  Purpose purpose = Purpose::server;
};

/// Verifies a chain (PEM, leaf first, then the intermediates the peer would
/// send) with the rules and messages of a handshake.
/// @param chain_pem the certificates.
/// @param options the trust, name, time and purpose.
/// @throws Error when chain_pem holds no certificate or the trust cannot be loaded.
UPTLS_API Verification verify_chain(const std::string& chain_pem,
                                    const VerifyOptions& options = {});

}  // namespace uptls::tls
