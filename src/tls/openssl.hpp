#pragma once
// OpenSSL RAII handles and error-queue draining; private to the library.

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "uptls/error.hpp"
#include "uptls/tls/identity.hpp"
#include "uptls/tls/session_info.hpp"

namespace uptls::tls::detail {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

using SslCtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;

/// Drains the whole OpenSSL error queue into one Error: the code of the first
/// (root-cause) entry, every entry's text in the message after context.
[[nodiscard]] Error drain_errors(std::string_view context);

/// Throws errc::invalid_config with message, after clearing OpenSSL's queue.
[[noreturn]] void invalid_config(const std::string& message);

/// The bytes a memory BIO holds.
std::string bio_text(BIO* bio);

/// Whether text is an IPv4 or IPv6 address rather than a name.
bool is_ip_literal(const std::string& text);

/// Same, with errc::invalid_config as the code; for configuration building.
[[nodiscard]] Error config_error(std::string_view context);

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
void use_identity(SSL_CTX* ctx, const Identity& identity, bool check_validity);

/// Reads a whole file, or throws errc::invalid_config naming the file.
std::string read_file(const std::string& path, std::string_view what);

}  // namespace uptls::tls::detail
