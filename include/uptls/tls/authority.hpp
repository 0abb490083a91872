#pragma once
/// @file
/// A development certificate authority that lives in memory.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "uptls/export.hpp"
#include "uptls/tls/identity.hpp"

namespace uptls::tls {

/// How DevAuthority::issue makes a certificate; the defaults make one valid
/// now for 30 days, usable by servers and clients.
struct IssueOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// A certificate valid now for 30 days, usable by servers and clients.
  IssueOptions() = default;

  /// Start of validity, relative to now (negative: in the past).
  std::chrono::seconds valid_from = -std::chrono::hours(1);
  /// End of validity, relative to now (negative: already expired).
  std::chrono::seconds valid_until = std::chrono::hours(24 * 30);
  /// Extended key usage serverAuth.
  bool server_auth = true;
  /// Extended key usage clientAuth.
  bool client_auth = true;
};

/// Makes a CA and leaf certificates (ECDSA P-256) in memory, so demos and
/// tests need no files. Not for production: the CA key is never protected.
class UPTLS_API DevAuthority {
 public:
  /// Makes a new CA key and a self-signed CA certificate valid for a year.
  /// @param common_name the CA's subject common name.
  /// @throws Error when OpenSSL fails.
  explicit DevAuthority(const std::string& common_name = "uptls development CA");
  /// Destroys the CA key; certificates already issued stay valid.
  ~DevAuthority();
  /// Takes over the CA; the moved-from object may only be destroyed or assigned to.
  DevAuthority(DevAuthority&&) noexcept;
  /// Takes over the CA; the moved-from object may only be destroyed or assigned to.
  DevAuthority& operator=(DevAuthority&&) noexcept;

  /// A CA kept in files (`uptls cert ca`): its certificate and key (PEM;
  /// the key unencrypted).
  /// @param ca_pem the CA certificate.
  /// @param key_pem its private key.
  /// @throws Error when they do not match or the certificate is not a CA.
  static DevAuthority from_pem(const std::string& ca_pem, const std::string& key_pem);

  /// The root CA certificate, to trust on the other side.
  std::string ca_pem() const;

  /// This CA's private key (unencrypted PKCS#8 PEM), to keep it in a file
  /// only its owner can read.
  std::string ca_key_pem() const;

  /// Issues a leaf certificate; its chain holds the intermediates between it
  /// and the root.
  /// @param names DNS names and IP addresses (v4 or v6) for the subject
  ///        alternative names; the first one is also the common name.
  /// @param options validity period and extended key usages.
  /// @throws Error (errc::invalid_argument) when names is empty, or a name
  ///         is neither a DNS name (letters, digits, hyphens, underscores and
  ///         dots, `*.` first for a wildcard) nor an IP address. Each name
  ///         becomes one entry, as data: no text can add another.
  Identity issue(const std::vector<std::string>& names, const IssueOptions& options = {}) const;

  /// Makes an intermediate CA signed by this one.
  DevAuthority intermediate(const std::string& common_name) const;

  /// Adds the leaf certificate of identity to this CA's revocation list.
  void revoke(const Identity& identity);

  /// This CA's certificate revocation list (PEM), valid from now for a day.
  std::string crl_pem() const;

  /// A signed OCSP response (DER) for the leaf of identity, issued by this
  /// CA: "good", or "revoked" if revoke() was called for it. Valid for a day.
  std::string ocsp_response(const Identity& identity) const;

  /// The library's implementation; not part of the API.
  struct Impl;

 private:
  struct Empty {};
  explicit DevAuthority(Empty);
  std::unique_ptr<Impl> impl_;
};

}  // namespace uptls::tls
