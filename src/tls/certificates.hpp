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

/// Checks an identity (key matches, chain in order, and with check_validity
/// the leaf is valid now) and makes it ctx's certificate, chain and key.
/// Defined in identity.cpp.
void use_identity(SSL_CTX* ctx, const Identity& identity, bool check_validity);

}  // namespace uptls::tls::detail
