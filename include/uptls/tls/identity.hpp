#pragma once
/// @file
/// Certificate chains with their private keys, loaded from every common
/// format, and where a key's passphrase comes from.

#include <string>

#include "uptls/export.hpp"

namespace uptls::tls {

/// Where the passphrase of an encrypted private key comes from. The default
/// is none: an encrypted key is then an error that says a passphrase is needed.
class UPTLS_API Passphrase {
 public:
  /// No passphrase.
  Passphrase() = default;

  /// The passphrase itself.
  static Passphrase text(std::string passphrase);

  /// The value of an environment variable, read when the key is loaded.
  static Passphrase environment(std::string variable);

  /// The first line of a file, read when the key is loaded.
  static Passphrase file(std::string path);

  /// Whether a passphrase was given.
  bool given() const noexcept { return source_ != Source::none; }

  /// The passphrase.
  /// @throws Error (errc::invalid_config) when the variable is unset or the file unreadable.
  std::string resolve() const;

 private:
  enum class Source { none, text, environment, file };
  Passphrase(Source source, std::string value) : source_(source), value_(std::move(value)) {}
  Source source_ = Source::none;
  std::string value_;
};

/// A certificate chain and its private key, as PEM text (the key decrypted).
///
/// Every factory checks what it loads: the key decrypts and matches the leaf
/// certificate, and each certificate of the chain is issued by the next one.
/// A server identity is also checked for validity when a ServerConfig is built.
struct UPTLS_API Identity {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// An empty identity, to be filled in or replaced by a factory's.
  Identity() = default;

  /// The leaf certificate first, then any intermediates.
  std::string chain_pem;
  /// The private key of the leaf certificate (unencrypted PKCS#8 PEM).
  std::string key_pem;

  /// Reads the chain and the key from two files, each PEM or DER.
  /// @throws Error (errc::invalid_config) naming the file and the problem.
  static Identity from_files(const std::string& chain_path, const std::string& key_path,
                             const Passphrase& passphrase = {});

  /// Reads one PEM file that holds both the key and the certificate chain
  /// (Twisted's and HAProxy's combined form).
  static Identity from_pem_file(const std::string& path, const Passphrase& passphrase = {});

  /// Reads a PKCS#12 (.p12, .pfx) file: key, certificate and chain.
  static Identity from_pkcs12_file(const std::string& path, const Passphrase& passphrase = {});

  /// Takes a chain and a key from memory (PEM); the key may be encrypted.
  static Identity from_pem(const std::string& chain_pem, const std::string& key_pem,
                           const Passphrase& passphrase = {});
};

}  // namespace uptls::tls
