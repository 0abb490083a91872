#pragma once
// Certificates and keys: parsing, PEM, the facts a user reads, and making an
// identity a context's own; private to the library.

#include <string>
#include <string_view>
#include <vector>

#include "tls/handles.hpp"
#include "uptls/tls/identity.hpp"
#include "uptls/tls/session_info.hpp"

namespace uptls::tls::detail {

/// The bytes a memory BIO holds.
std::string bio_text(BIO* bio);

/// Parses every certificate in a PEM text, in order.
std::vector<X509Ptr> parse_certificates(std::string_view pem, std::string_view what);

/// A certificate in PEM form.
std::string pem_of(X509* cert);

/// A private key in unencrypted PKCS#8 PEM form.
std::string pem_of(EVP_PKEY* key);

/// The readable facts of a certificate.
CertificateInfo describe(X509* cert);

/// Why verification failed with result (X509_V_ERR_*), worded as uptls
/// words it everywhere: "certificate verify failed: hostname 'x' not in
/// certificate names [a, b]", or OpenSSL's reason and the certificate.
/// @param leaf the peer's certificate, if known.
/// @param name the name that was asked for.
/// @param client_certificate whether a server verified a client.
std::string verification_message(long result, X509* leaf, const std::string& name,
                                 bool client_certificate);

/// Whether leaf's subjectAltName holds name (a DNS name or an IP literal),
/// by the rules of every name check.
bool name_matches(X509* leaf, const std::string& name);

/// The flags of every name check: a wildcard only as a whole left-most
/// label (RFC 6125 §6.4.3), never the subject's CN (RFC 9525 §6.3: OpenSSL
/// falls back to the CN when there is no DNS SAN).
inline constexpr unsigned name_check_flags =
    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;

/// Makes param check name (a DNS name or an IP literal) by the rules of
/// every name check, as a handshake and verify_chain do.
/// @throws Error errc::invalid_argument for a name with a NUL byte, or
///         OpenSSL's error when it refuses the name.
void expect_name(X509_VERIFY_PARAM* param, const std::string& name);

/// Checks an identity (key matches, chain in order, and with check_validity
/// the leaf is valid now) and makes it ctx's certificate, chain and key.
/// Defined in identity.cpp.
void use_identity(SSL_CTX* ctx, const Identity& identity, bool check_validity);

}  // namespace uptls::tls::detail
