#include "uptls/tls/authority.hpp"

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <string_view>

#include "uptls/printable.hpp"

#include "host_name.hpp"
#include "tls/certificates.hpp"
#include "tls/errors.hpp"

namespace uptls::tls {

using uptls::detail::is_dns_name;
using uptls::detail::is_ip_literal;

namespace {

using detail::PkeyPtr;
using detail::X509Ptr;

PkeyPtr new_p256_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) throw detail::drain_errors("cannot make an ECDSA P-256 key");
  return key;
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

/// The subjectAltName of names, each built as data (a GENERAL_NAME), never
/// as configuration text: a name cannot smuggle in another entry.
void add_alt_names(X509* cert, const std::vector<std::string>& names) {
  GENERAL_NAMES* alt = sk_GENERAL_NAME_new_null();
  auto fail = [&](const std::string& message) {
    GENERAL_NAMES_free(alt);
    throw Error(make_error_code(errc::invalid_argument), message);
  };
  for (const auto& name : names) {
    GENERAL_NAME* entry = GENERAL_NAME_new();
    if (!entry) fail("out of memory for a certificate name");
    if (is_ip_literal(name)) {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.c_str());
      if (!ip) {
        GENERAL_NAME_free(entry);
        fail("'" + escape_nonprintable(name) + "' is not an IP address a certificate can carry");
      }
      GENERAL_NAME_set0_value(entry, GEN_IPADD, ip);
    } else {
      if (!is_dns_name(name)) {
        GENERAL_NAME_free(entry);
        fail("'" + escape_nonprintable(name) +
             "' is neither a DNS name (letters, digits, hyphens, dots; *. for a wildcard) nor "
             "an IP address");
      }
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      ASN1_STRING_set(dns, name.data(), static_cast<int>(name.size()));
      GENERAL_NAME_set0_value(entry, GEN_DNS, dns);
    }
    sk_GENERAL_NAME_push(alt, entry);
  }
  int added = X509_add1_ext_i2d(cert, NID_subject_alt_name, alt, 0, X509V3_ADD_DEFAULT);
  GENERAL_NAMES_free(alt);
  if (added != 1) throw detail::drain_errors("cannot add the certificate's names");
}

X509Ptr new_certificate(const std::string& common_name, EVP_PKEY* key, long from_seconds,
                        long until_seconds) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;  // RFC 5280 §4.1.2.2: positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_seconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), until_seconds);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_pubkey(cert.get(), key);
  return cert;
}

}  // namespace

struct DevAuthority::Impl {
  PkeyPtr key;
  X509Ptr cert;
  std::string root_pem;              // the trust anchor
  std::string intermediates_pem;     // this CA and the CAs between it and the root, if any
  std::vector<std::string> revoked;  // serial numbers, hexadecimal
};

namespace {

constexpr long day = 24 * 3600;
// Back-dated an hour so a peer whose clock is a little behind still accepts it.
constexpr long back_dated = -3600;

void make_ca(DevAuthority::Impl& ca, const std::string& common_name,
             const DevAuthority::Impl* parent) {
  ca.key = new_p256_key();
  ca.cert = new_certificate(common_name, ca.key.get(), back_dated, 365 * day);
  X509* cert = ca.cert.get();
  X509* issuer = parent ? parent->cert.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer));
  add_extension(cert, issuer, NID_basic_constraints,
                parent ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE,pathlen:1");
  add_extension(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert, issuer, NID_subject_key_identifier, "hash");
  if (parent) add_extension(cert, issuer, NID_authority_key_identifier, "keyid:always");
  EVP_PKEY* signer = parent ? parent->key.get() : ca.key.get();
  if (X509_sign(cert, signer, EVP_sha256()) == 0) {
    throw detail::drain_errors("cannot sign the CA certificate");
  }
  ca.root_pem = parent ? parent->root_pem : detail::pem_of(cert);
  ca.intermediates_pem = parent ? detail::pem_of(cert) + parent->intermediates_pem : std::string();
}

}  // namespace

DevAuthority::DevAuthority(Empty) : impl_(std::make_unique<Impl>()) {}

DevAuthority::DevAuthority(const std::string& common_name) : DevAuthority(Empty{}) {
  make_ca(*impl_, common_name, nullptr);
}

DevAuthority::~DevAuthority() = default;
DevAuthority::DevAuthority(DevAuthority&&) noexcept = default;
DevAuthority& DevAuthority::operator=(DevAuthority&&) noexcept = default;

DevAuthority DevAuthority::from_pem(const std::string& ca_pem, const std::string& key_pem) {
  // Identity checks that the key is the certificate's.
  Identity identity = Identity::from_pem(ca_pem, key_pem);
  auto chain = detail::parse_certificates(identity.chain_pem, "the CA certificate");
  if (X509_check_ca(chain.front().get()) == 0) {
    throw Error(make_error_code(errc::invalid_config),
                "the certificate is not a CA certificate (basicConstraints CA:TRUE)");
  }
  detail::BioPtr bio(
      BIO_new_mem_buf(identity.key_pem.data(), static_cast<int>(identity.key_pem.size())));
  DevAuthority ca{Empty{}};
  ca.impl_->key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!ca.impl_->key) throw detail::drain_errors("cannot read the CA key");
  ca.impl_->cert = std::move(chain.front());
  X509* cert = ca.impl_->cert.get();
  bool self_signed = X509_check_issued(cert, cert) == X509_V_OK;
  ca.impl_->root_pem = detail::pem_of(cert);
  // An intermediate CA: its leaves' chains carry it.
  ca.impl_->intermediates_pem = self_signed ? std::string() : ca.impl_->root_pem;
  return ca;
}

std::string DevAuthority::ca_pem() const { return impl_->root_pem; }

std::string DevAuthority::ca_key_pem() const { return detail::pem_of(impl_->key.get()); }

DevAuthority DevAuthority::intermediate(const std::string& common_name) const {
  DevAuthority sub{Empty{}};
  make_ca(*sub.impl_, common_name, impl_.get());
  return sub;
}

Identity DevAuthority::issue(const std::vector<std::string>& names,
                             const IssueOptions& options) const {
  if (names.empty()) {
    throw Error(make_error_code(errc::invalid_argument), "a certificate needs at least one name");
  }
  PkeyPtr key = new_p256_key();
  X509Ptr cert =
      new_certificate(names.front(), key.get(), static_cast<long>(options.valid_from.count()),
                      static_cast<long>(options.valid_until.count()));
  X509* issuer = impl_->cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));

  add_alt_names(cert.get(), names);
  add_extension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
  std::string usage;
  if (options.server_auth) usage = "serverAuth";
  if (options.client_auth) usage += usage.empty() ? "clientAuth" : ",clientAuth";
  // A certificate for neither is still marked, for e-mail protection: it must
  // be refused for TLS (wrong key usage).
  add_extension(cert.get(), issuer, NID_ext_key_usage, usage.empty() ? "emailProtection" : usage);
  add_extension(cert.get(), issuer, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), impl_->key.get(), EVP_sha256()) == 0) {
    throw detail::drain_errors("cannot sign the leaf certificate");
  }
  Identity identity;
  identity.chain_pem = detail::pem_of(cert.get()) + impl_->intermediates_pem;
  identity.key_pem = detail::pem_of(key.get());
  return identity;
}

void DevAuthority::revoke(const Identity& identity) {
  auto chain = detail::parse_certificates(identity.chain_pem, "the identity");
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(chain.front().get()), nullptr);
  char* hex = BN_bn2hex(serial);
  impl_->revoked.emplace_back(hex);
  OPENSSL_free(hex);
  BN_free(serial);
}

std::string DevAuthority::crl_pem() const {
  std::unique_ptr<X509_CRL, detail::Deleter<X509_CRL_free>> crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(impl_->cert.get()));
  std::unique_ptr<ASN1_TIME, detail::Deleter<ASN1_TIME_free>> last(
      X509_gmtime_adj(nullptr, back_dated));
  std::unique_ptr<ASN1_TIME, detail::Deleter<ASN1_TIME_free>> next(X509_gmtime_adj(nullptr, day));
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (const auto& hex : impl_->revoked) {
    X509_REVOKED* entry = X509_REVOKED_new();
    BIGNUM* bn = nullptr;
    BN_hex2bn(&bn, hex.c_str());
    ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
    X509_REVOKED_set_serialNumber(entry, serial);
    X509_REVOKED_set_revocationDate(entry, last.get());
    X509_CRL_add0_revoked(crl.get(), entry);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), impl_->key.get(), EVP_sha256()) == 0) {
    throw detail::drain_errors("cannot sign the CRL");
  }
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), crl.get());
  return detail::bio_text(bio.get());
}

std::string DevAuthority::ocsp_response(const Identity& identity) const {
  auto chain = detail::parse_certificates(identity.chain_pem, "the identity");
  X509* leaf = chain.front().get();
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), leaf, impl_->cert.get());
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr);
  char* hex = BN_bn2hex(serial);
  bool revoked =
      std::find(impl_->revoked.begin(), impl_->revoked.end(), hex) != impl_->revoked.end();
  OPENSSL_free(hex);
  BN_free(serial);

  std::unique_ptr<OCSP_BASICRESP, detail::Deleter<OCSP_BASICRESP_free>> basic(OCSP_BASICRESP_new());
  std::unique_ptr<ASN1_TIME, detail::Deleter<ASN1_TIME_free>> now(
      X509_gmtime_adj(nullptr, back_dated));
  std::unique_ptr<ASN1_TIME, detail::Deleter<ASN1_TIME_free>> next(X509_gmtime_adj(nullptr, day));
  OCSP_basic_add1_status(basic.get(), id,
                         revoked ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD,
                         revoked ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
                         revoked ? now.get() : nullptr, now.get(), next.get());
  OCSP_CERTID_free(id);
  if (OCSP_basic_sign(basic.get(), impl_->cert.get(), impl_->key.get(), EVP_sha256(), nullptr, 0) !=
      1) {
    throw detail::drain_errors("cannot sign the OCSP response");
  }
  std::unique_ptr<OCSP_RESPONSE, detail::Deleter<OCSP_RESPONSE_free>> response(
      OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  unsigned char* der = nullptr;
  int n = i2d_OCSP_RESPONSE(response.get(), &der);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return bytes;
}

}  // namespace uptls::tls
