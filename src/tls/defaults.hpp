#pragma once
// uptls's safe choices where a configuration leaves them empty, in OpenSSL
// syntax; config.cpp applies them, features.cpp reports them. The reasons
// are in docs/defaults.md.

namespace uptls::tls::detail {

// TLS 1.2 with forward secrecy and AEAD only: ECDHE with AES-GCM or
// ChaCha20-Poly1305 (no CBC: Lucky13; no static RSA key exchange). DHE is
// added only where DH parameters were given. TLS 1.3 suites are all AEAD.
inline constexpr const char* safe_tls12_ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL";
inline constexpr const char* safe_tls12_ciphers_with_dhe =
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL";
// Strong named groups only, the fastest first.
inline constexpr const char* safe_groups = "X25519:P-256:X448:P-384:P-521";
// Signatures with SHA-256 or stronger: OpenSSL 3.0 still accepts SHA-224
// (and SHA-1 at security level 0) in TLS 1.2 handshakes.
inline constexpr const char* safe_signature_algorithms =
    "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:ed448:"
    "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
    "rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:"
    "RSA+SHA256:RSA+SHA384:RSA+SHA512";

}  // namespace uptls::tls::detail
