#pragma once
/// @file
/// What a stream can tell about its peer's certificate and its TLS session.

#include <string>
#include <string_view>
#include <vector>

#include "uptls/export.hpp"

namespace uptls::tls {

/// The readable facts of one X.509 certificate.
struct CertificateInfo {
  /// Subject distinguished name, RFC 2253 form.
  std::string subject;
  /// Issuer distinguished name, RFC 2253 form.
  std::string issuer;
  /// DNS names from the subject alternative names.
  std::vector<std::string> dns_names;
  /// IP addresses from the subject alternative names, in text form.
  std::vector<std::string> ip_addresses;
  /// Start of validity, as OpenSSL prints it ("Nov 23 05:00:00 2026 GMT").
  std::string not_before;
  /// End of validity, same form.
  std::string not_after;
  /// Serial number in hexadecimal.
  std::string serial;
  /// SHA-256 of the DER encoding, colon-separated hexadecimal.
  std::string sha256_fingerprint;
  /// The public key's type: "EC P-256", "RSA", "Ed25519", ...
  std::string key_type;
  /// The public key's size in bits.
  int key_bits = 0;
  /// The signature algorithm ("ecdsa-with-SHA256", "sha256WithRSAEncryption").
  std::string signature_algorithm;
  /// Whether it is a CA certificate (basicConstraints CA:TRUE).
  bool is_ca = false;
  /// The certificate in PEM form.
  std::string pem;
};

/// Parses certificates, PEM (any number) or DER (one or more concatenated),
/// and describes each, in order.
/// @throws Error (errc::invalid_config) when there is none.
UPTLS_API std::vector<CertificateInfo> read_certificates(std::string_view pem_or_der);

/// The negotiated parameters of an established TLS session.
struct SessionInfo {
  /// Protocol version, "TLSv1.2" or "TLSv1.3".
  std::string version;
  /// Cipher suite name as OpenSSL spells it ("TLS_AES_256_GCM_SHA384").
  std::string cipher;
  /// Secret bits of the cipher.
  int secret_bits = 0;
  /// The ALPN protocol agreed, empty when none.
  std::string alpn;
  /// The server name (SNI) the client sent, empty when none.
  std::string server_name;
  /// Whether the session was resumed rather than fully negotiated.
  bool resumed = false;
  /// Client that asked for OCSP stapling: "good", "revoked", "unknown",
  /// "none" (nothing stapled) or "invalid: why"; empty when not asked.
  std::string ocsp_status;
};

}  // namespace uptls::tls
