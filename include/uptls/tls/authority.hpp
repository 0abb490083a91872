#pragma once
/// @file
/// A development certificate authority that lives in memory.

#include <memory>
#include <string>
#include <vector>

#include "uptls/tls/config.hpp"

namespace uptls::tls {

/// Makes a CA and leaf certificates (ECDSA P-256) in memory, so demos and
/// tests need no files. Not for production: the CA key is never protected.
class DevAuthority {
 public:
  /// Makes a new CA key and a self-signed CA certificate valid for a year.
  /// @param common_name the CA's subject common name.
  /// @throws Error when OpenSSL fails.
  explicit DevAuthority(const std::string& common_name = "uptls development CA");
  ~DevAuthority();
  DevAuthority(DevAuthority&&) noexcept;
  DevAuthority& operator=(DevAuthority&&) noexcept;

  /// The CA certificate, to trust on the other side.
  std::string ca_pem() const;

  /// Issues a leaf certificate valid for 30 days, usable for server and
  /// client authentication.
  /// @param names DNS names and IP addresses (v4 or v6) for the subject
  ///        alternative names; the first one is also the common name.
  /// @throws Error (errc::invalid_argument) when names is empty.
  Identity issue(const std::vector<std::string>& names) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace uptls::tls
