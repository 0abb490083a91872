#pragma once
/// @file
/// What the TLS library uptls runs with offers, and what uptls turns on by
/// default (seed 003's features.py, for `uptls features`).

#include <string>
#include <vector>

#include "uptls/export.hpp"

namespace uptls::tls {

/// One protocol version, cipher, group, signature algorithm or option.
struct Feature {
  /// Its name as OpenSSL spells it ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "X25519").
  std::string name;
  /// Whether the TLS library can use it.
  bool available = false;
  /// Whether uptls uses it when nothing else is configured.
  bool on_by_default = false;
  /// Why it is off, or what it is; may be empty.
  std::string note;
};

/// The TLS library's offer and uptls's defaults.
struct Features {
  /// The OpenSSL that uptls runs with.
  std::string library;
  /// SSLv3 to TLS 1.3.
  std::vector<Feature> versions;
  /// TLS 1.2 (and older) ciphers the library knows.
  std::vector<Feature> tls12_ciphers;
  /// TLS 1.3 cipher suites.
  std::vector<Feature> tls13_ciphersuites;
  /// Key-exchange groups.
  std::vector<Feature> groups;
  /// Signature algorithms.
  std::vector<Feature> signature_algorithms;
  /// Verification modes: none, peer (clients), request and require (client
  /// certificates), with uptls's defaults.
  std::vector<Feature> verify_modes;
  /// Verification flags (CRL checks, strict X.509, partial chains).
  std::vector<Feature> verify_flags;
  /// The OpenSSL options uptls sets (no compression, no renegotiation, ...).
  std::vector<Feature> options;
  /// ECDH, SNI, ALPN, NPN, session tickets, OCSP stapling, kernel TLS.
  std::vector<Feature> extensions;
};

/// Asks the TLS library.
UPTLS_API Features features();

}  // namespace uptls::tls
