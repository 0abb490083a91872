// Loading certificate chains and keys (PEM, DER, PKCS#12, encrypted keys)
// and checking them; installing an identity into an OpenSSL context.

#include "uptls/tls/identity.hpp"

#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "tls/certificates.hpp"
#include "tls/errors.hpp"

namespace uptls::tls {
namespace {

using detail::BioPtr;
using detail::PkeyPtr;
using detail::X509Ptr;

bool is_pem(std::string_view text) { return text.find("-----BEGIN ") != std::string_view::npos; }

BioPtr memory_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

int passphrase_callback(char* buffer, int size, int, void* user) {
  const auto* passphrase = static_cast<const std::string*>(user);
  if (!passphrase) return 0;
  int n = std::min(size, static_cast<int>(passphrase->size()));
  std::copy_n(passphrase->data(), n, buffer);
  return n;
}

PkeyPtr parse_key(std::string_view text, const Passphrase& passphrase, const std::string& what) {
  std::string secret = passphrase.given() ? passphrase.resolve() : std::string();
  void* user = passphrase.given() ? &secret : nullptr;
  PkeyPtr key;
  if (is_pem(text)) {
    BioPtr bio = memory_bio(text);
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_callback, user));
  } else {
    BioPtr bio = memory_bio(text);
    key.reset(d2i_PrivateKey_bio(bio.get(), nullptr));
    if (!key) {
      BioPtr encrypted = memory_bio(text);
      key.reset(d2i_PKCS8PrivateKey_bio(encrypted.get(), nullptr, passphrase_callback, user));
    }
  }
  if (key) {
    ERR_clear_error();
    return key;
  }
  bool encrypted = text.find("ENCRYPTED") != std::string_view::npos || !is_pem(text);
  if (encrypted && !passphrase.given()) {
    detail::invalid_config("the private key in " + what +
                           " is encrypted or unreadable: give its passphrase");
  }
  if (passphrase.given()) {
    detail::invalid_config("cannot decrypt the private key in " + what + ": wrong passphrase?");
  }
  detail::invalid_config("no usable private key in " + what);
}

std::string subject_of(X509* cert) { return detail::describe(cert).subject; }

/// The key matches the leaf, and each certificate is issued by the next.
void check(const std::vector<X509Ptr>& chain, EVP_PKEY* key) {
  if (X509_check_private_key(chain.front().get(), key) != 1) {
    detail::invalid_config("the private key does not match the certificate '" +
                           subject_of(chain.front().get()) + "'");
  }
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
    if (X509_check_issued(chain[i + 1].get(), chain[i].get()) != X509_V_OK) {
      detail::invalid_config(
          "the certificate chain is out of order: certificate " + std::to_string(i + 2) + " ('" +
          subject_of(chain[i + 1].get()) + "') did not issue certificate " + std::to_string(i + 1) +
          " ('" + subject_of(chain[i].get()) + "'); put the leaf first, then each issuer in turn");
    }
  }
}

Identity identity_of(const std::vector<X509Ptr>& chain, EVP_PKEY* key) {
  check(chain, key);
  Identity identity;
  for (const auto& cert : chain) identity.chain_pem += detail::pem_of(cert.get());
  identity.key_pem = detail::pem_of(key);
  return identity;
}

std::string pem_blocks(const std::string& text, bool keys) {
  // Splits a combined PEM file: private keys in one group, certificates in the other.
  std::string out;
  std::size_t pos = 0;
  while ((pos = text.find("-----BEGIN ", pos)) != std::string::npos) {
    std::size_t label_end = text.find("-----", pos + 11);
    if (label_end == std::string::npos) break;
    std::string label = text.substr(pos + 11, label_end - pos - 11);
    std::string end_marker = "-----END " + label + "-----";
    std::size_t end = text.find(end_marker, label_end);
    if (end == std::string::npos) break;
    end += end_marker.size();
    bool is_key = label.find("PRIVATE KEY") != std::string::npos;
    if (is_key == keys) out += text.substr(pos, end - pos) + "\n";
    pos = end;
  }
  return out;
}

}  // namespace

Passphrase Passphrase::text(std::string passphrase) {
  return Passphrase(Source::text, std::move(passphrase));
}

Passphrase Passphrase::environment(std::string variable) {
  return Passphrase(Source::environment, std::move(variable));
}

Passphrase Passphrase::file(std::string path) { return Passphrase(Source::file, std::move(path)); }

std::string Passphrase::resolve() const {
  switch (source_) {
    case Source::none:
      return {};
    case Source::text:
      return value_;
    case Source::environment:
      if (const char* value = std::getenv(value_.c_str())) return value;
      detail::invalid_config("the passphrase variable " + value_ + " is not set");
    case Source::file: {
      std::ifstream in(value_);
      std::string line;
      if (!in || !std::getline(in, line))
        detail::invalid_config("cannot read a passphrase from '" + value_ + "'");
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
  }
  return {};
}

Identity Identity::from_files(const std::string& chain_path, const std::string& key_path,
                              const Passphrase& passphrase) {
  auto chain = detail::parse_certificates(detail::read_file(chain_path, "certificate file"),
                                          "certificate file '" + chain_path + "'");
  PkeyPtr key =
      parse_key(detail::read_file(key_path, "private key file"), passphrase, "'" + key_path + "'");
  return identity_of(chain, key.get());
}

Identity Identity::from_pem_file(const std::string& path, const Passphrase& passphrase) {
  std::string text = detail::read_file(path, "PEM file");
  std::string keys = pem_blocks(text, true);
  if (keys.empty()) detail::invalid_config("PEM file '" + path + "' holds no private key");
  auto chain = detail::parse_certificates(pem_blocks(text, false), "PEM file '" + path + "'");
  PkeyPtr key = parse_key(keys, passphrase, "'" + path + "'");
  return identity_of(chain, key.get());
}

Identity Identity::from_pem(const std::string& chain_pem, const std::string& key_pem,
                            const Passphrase& passphrase) {
  auto chain = detail::parse_certificates(chain_pem, "the certificate chain");
  PkeyPtr key = parse_key(key_pem, passphrase, "the key text");
  return identity_of(chain, key.get());
}

Identity Identity::from_pkcs12_file(const std::string& path, const Passphrase& passphrase) {
  std::string data = detail::read_file(path, "PKCS#12 file");
  BioPtr bio = memory_bio(data);
  std::unique_ptr<PKCS12, detail::Deleter<PKCS12_free>> p12(d2i_PKCS12_bio(bio.get(), nullptr));
  if (!p12) detail::invalid_config("'" + path + "' is not a PKCS#12 file");
  std::string secret = passphrase.resolve();
  if (PKCS12_verify_mac(p12.get(), secret.c_str(), static_cast<int>(secret.size())) != 1 &&
      PKCS12_verify_mac(p12.get(), nullptr, 0) != 1) {
    detail::invalid_config(passphrase.given()
                               ? "cannot open PKCS#12 file '" + path + "': wrong passphrase?"
                               : "PKCS#12 file '" + path + "' is protected: give its passphrase");
  }
  EVP_PKEY* raw_key = nullptr;
  X509* raw_cert = nullptr;
  STACK_OF(X509)* extra = nullptr;
  if (PKCS12_parse(p12.get(), secret.c_str(), &raw_key, &raw_cert, &extra) != 1 || !raw_key ||
      !raw_cert) {
    EVP_PKEY_free(raw_key);
    X509_free(raw_cert);
    sk_X509_pop_free(extra, X509_free);
    detail::invalid_config("PKCS#12 file '" + path + "' holds no key and certificate");
  }
  PkeyPtr key(raw_key);
  std::vector<X509Ptr> chain;
  chain.emplace_back(raw_cert);
  // PKCS#12 keeps the other certificates in no particular order: follow the issuers.
  std::vector<X509Ptr> others;
  while (extra && sk_X509_num(extra) > 0) others.emplace_back(sk_X509_shift(extra));
  sk_X509_free(extra);
  for (bool found = true; found && !others.empty();) {
    found = false;
    for (auto it = others.begin(); it != others.end(); ++it) {
      if (X509_check_issued(it->get(), chain.back().get()) == X509_V_OK &&
          X509_check_issued(it->get(), it->get()) != X509_V_OK) {
        chain.push_back(std::move(*it));
        others.erase(it);
        found = true;
        break;
      }
    }
  }
  ERR_clear_error();
  return identity_of(chain, key.get());
}

namespace detail {

void use_identity(SSL_CTX* ctx, const Identity& identity, bool check_validity) {
  auto chain = parse_certificates(identity.chain_pem, "the certificate chain");
  BioPtr bio = memory_bio(identity.key_pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) detail::invalid_config("no usable (unencrypted) PEM private key in the identity");
  check(chain, key.get());
  X509* leaf = chain.front().get();
  if (check_validity) {
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
      detail::invalid_config("the certificate '" + subject_of(leaf) + "' expired on " +
                             describe(leaf).not_after + ": renew it");
    }
    if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
      detail::invalid_config("the certificate '" + subject_of(leaf) + "' is not valid before " +
                             describe(leaf).not_before + ": check the clock or the certificate");
    }
  }
  if (SSL_CTX_use_certificate(ctx, leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    throw config_error("cannot use the certificate and key");
  }
  SSL_CTX_clear_chain_certs(ctx);
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      throw config_error("cannot add an intermediate certificate");
    }
  }
}

}  // namespace detail
}  // namespace uptls::tls
