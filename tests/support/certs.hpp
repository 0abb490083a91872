#pragma once
// Certificate helpers for tests: temporary files, and the other encodings
// of an identity (DER, encrypted PEM, PKCS#12) made with OpenSSL directly.

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "uptls/tls/identity.hpp"

namespace uptls::test {

/// A file in the temporary directory, removed with the object.
struct TempFile {
  explicit TempFile(const std::string& content) {
    path = std::filesystem::temp_directory_path() /
           ("uptls-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string name() const { return path.string(); }
  std::filesystem::path path;
  static inline int counter = 0;
};

inline std::string bio_bytes(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return {data, static_cast<std::size_t>(n)};
}

inline X509* first_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!cert) throw std::runtime_error("test: no certificate");
  return cert;
}

inline EVP_PKEY* key_of(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key) throw std::runtime_error("test: no key");
  return key;
}

/// The leaf certificate in DER.
inline std::string der_certificate(const tls::Identity& identity) {
  X509* cert = first_cert(identity.chain_pem);
  BIO* bio = BIO_new(BIO_s_mem());
  i2d_X509_bio(bio, cert);
  std::string der = bio_bytes(bio);
  BIO_free(bio);
  X509_free(cert);
  return der;
}

/// The key in DER (unencrypted PKCS#8).
inline std::string der_key(const tls::Identity& identity) {
  EVP_PKEY* key = key_of(identity.key_pem);
  BIO* bio = BIO_new(BIO_s_mem());
  i2d_PKCS8PrivateKey_bio(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::string der = bio_bytes(bio);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return der;
}

/// The key as encrypted PKCS#8 PEM (AES-256-CBC).
inline std::string encrypted_key(const tls::Identity& identity, const std::string& passphrase) {
  EVP_PKEY* key = key_of(identity.key_pem);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), passphrase.data(),
                                static_cast<int>(passphrase.size()), nullptr, nullptr);
  std::string pem = bio_bytes(bio);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

/// The identity as a PKCS#12 file's bytes; the chain's other certificates
/// are stored in reverse order, as some tools do.
inline std::string pkcs12(const tls::Identity& identity, const std::string& passphrase) {
  EVP_PKEY* key = key_of(identity.key_pem);
  BIO* chain_bio =
      BIO_new_mem_buf(identity.chain_pem.data(), static_cast<int>(identity.chain_pem.size()));
  X509* leaf = PEM_read_bio_X509(chain_bio, nullptr, nullptr, nullptr);
  STACK_OF(X509)* others = sk_X509_new_null();
  while (X509* cert = PEM_read_bio_X509(chain_bio, nullptr, nullptr, nullptr)) {
    sk_X509_unshift(others, cert);
  }
  ERR_clear_error();
  PKCS12* p12 = PKCS12_create(passphrase.c_str(), "uptls test", key, leaf, others, 0, 0, 0, 0, 0);
  BIO* out = BIO_new(BIO_s_mem());
  i2d_PKCS12_bio(out, p12);
  std::string bytes = bio_bytes(out);
  BIO_free(out);
  PKCS12_free(p12);
  sk_X509_pop_free(others, X509_free);
  X509_free(leaf);
  BIO_free(chain_bio);
  EVP_PKEY_free(key);
  return bytes;
}

}  // namespace uptls::test
