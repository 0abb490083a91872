#include "uptls/tls/authority.hpp"

#include <openssl/pem.h>
#include <openssl/rand.h>

#include <asio/ip/address.hpp>

#include "tls/openssl.hpp"

namespace uptls::tls {
namespace {

using detail::PkeyPtr;
using detail::X509Ptr;

PkeyPtr new_p256_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) throw detail::drain_errors("cannot make an ECDSA P-256 key");
  return key;
}

std::string pem_of(X509* cert) {
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(n)};
}

std::string pem_of(EVP_PKEY* key) {
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(n)};
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw detail::drain_errors("cannot make certificate extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509Ptr new_certificate(const std::string& common_name, EVP_PKEY* key, long days) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;  // RFC 5280 §4.1.2.2: positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  // Back-dated an hour so a peer whose clock is a little behind still accepts it.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_pubkey(cert.get(), key);
  return cert;
}

bool is_ip_address(const std::string& name) {
  asio::error_code ec;
  asio::ip::make_address(name, ec);
  return !ec;
}

}  // namespace

struct DevAuthority::Impl {
  PkeyPtr key;
  X509Ptr cert;
};

DevAuthority::DevAuthority(const std::string& common_name) : impl_(std::make_unique<Impl>()) {
  impl_->key = new_p256_key();
  impl_->cert = new_certificate(common_name, impl_->key.get(), 365);
  X509* cert = impl_->cert.get();
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert, cert, NID_subject_key_identifier, "hash");
  if (X509_sign(cert, impl_->key.get(), EVP_sha256()) == 0) {
    throw detail::drain_errors("cannot sign the CA certificate");
  }
}

DevAuthority::~DevAuthority() = default;
DevAuthority::DevAuthority(DevAuthority&&) noexcept = default;
DevAuthority& DevAuthority::operator=(DevAuthority&&) noexcept = default;

std::string DevAuthority::ca_pem() const { return pem_of(impl_->cert.get()); }

Identity DevAuthority::issue(const std::vector<std::string>& names) const {
  if (names.empty()) {
    throw Error(make_error_code(errc::invalid_argument), "a certificate needs at least one name");
  }
  PkeyPtr key = new_p256_key();
  X509Ptr cert = new_certificate(names.front(), key.get(), 30);
  X509* issuer = impl_->cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));

  std::string alt_names;
  for (const auto& name : names) {
    if (!alt_names.empty()) alt_names += ',';
    alt_names += (is_ip_address(name) ? "IP:" : "DNS:") + name;
  }
  add_extension(cert.get(), issuer, NID_subject_alt_name, alt_names);
  add_extension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), issuer, NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), issuer, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), impl_->key.get(), EVP_sha256()) == 0) {
    throw detail::drain_errors("cannot sign the leaf certificate");
  }
  return {pem_of(cert.get()), pem_of(key.get())};
}

}  // namespace uptls::tls
