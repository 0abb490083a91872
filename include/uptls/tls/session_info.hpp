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
  /// The protocol version that defined the cipher ("TLSv1.3", "TLSv1.2").
  std::string cipher_version;
  /// Secret bits of the cipher.
  int secret_bits = 0;
  /// The ALPN protocol agreed, empty when none.
  std::string alpn;
  /// The key-exchange group ("X25519", "secp256r1", "ffdhe2048"); empty
  /// when unknown (a resumed TLS 1.2 session).
  std::string group;
  /// The signature algorithm the peer signed the handshake with
  /// ("ecdsa_secp256r1_sha256", "rsa_pss_rsae_sha256"); empty when it did
  /// not sign (resumption).
  std::string peer_signature;
  /// TLS compression: always "none" (uptls never compresses: CRIME).
  std::string compression = "none";
  /// The server name (SNI) the client sent, empty when none.
  std::string server_name;
  /// Whether the session was resumed rather than fully negotiated.
  bool resumed = false;
  /// Client that asked for OCSP stapling: "good", "revoked", "unknown",
  /// "none" (nothing stapled) or "invalid: why"; empty when not asked.
  std::string ocsp_status;
};

/// The verdict on the peer's certificate chain and name.
struct Verification {
  /// Whether the peer's chain and name were checked at all (not with
  /// PeerVerification::dangerous_none, nor a server that asked for no client
  /// certificate).
  bool checked = false;
  /// Whether they passed.
  bool ok = false;
  /// OpenSSL's X509_V_ERR_* code; 0 when ok.
  long code = 0;
  /// Whether the certificate's subjectAltName holds the name asked for
  /// (RFC 9525 rules), checked on its own so that it is known even when the
  /// chain failed first; false when there was no name or no certificate.
  bool name_matches = false;
  /// "verified for NAME", or the reason it failed, worded as the handshake
  /// words it ("certificate verify failed: hostname 'x' not in certificate
  /// names [...]").
  std::string message;
};

}  // namespace uptls::tls
