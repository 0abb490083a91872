#pragma once
/// @file
/// Immutable, shared TLS configurations for the client and the server role.
///
/// A configuration is checked completely when it is built: a missing file, a
/// key that does not match its certificate or an unsafe protocol version is
/// an Error from make(), never a surprise at the first handshake. Built
/// configurations are immutable and may be shared by any number of streams
/// and threads.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptls/export.hpp"
#include "uptls/tls/identity.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace uptls::tls {

namespace detail {
struct ConfigAccess;
}

/// TLS protocol versions uptls negotiates. Older versions are not offered.
enum class Version { tls1_2, tls1_3 };

/// Parses "1.2", "1.3", "TLSv1.2", "tls1_3" and the like.
/// @throws Error (errc::invalid_config) for SSLv2, SSLv3, TLS 1.0 and 1.1,
///         saying why they are refused, and for anything else.
UPTLS_API Version parse_version(std::string_view text);

/// Which certificates of a chain are checked against the CRLs given.
enum class CrlCheck {
  /// The leaf only.
  leaf,
  /// Every certificate of the chain: each issuer must have a CRL.
  chain,
};

/// Whether a server asks clients for a certificate.
enum class ClientAuth {
  /// No client certificate is asked for.
  none,
  /// Asked for; a client without one is accepted, one with a bad one is not.
  request,
  /// Required: a client without a valid certificate fails the handshake.
  require,
};

/// Where trusted CA certificates and revocation lists come from.
struct Trust {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// No CA given (the system trust store is used), no CRLs.
  Trust() = default;

  /// PEM files of CA certificates.
  std::vector<std::string> ca_files;
  /// Directories of CA certificates in OpenSSL's hashed form (c_rehash).
  std::vector<std::string> ca_dirs;
  /// CA certificates as PEM text.
  std::string ca_pem;
  /// PEM files of certificate revocation lists; with any, revocation is checked.
  std::vector<std::string> crl_files;
  /// What the CRLs are checked for.
  CrlCheck crl_check = CrlCheck::leaf;
};

/// Protocol choices both roles share. Empty strings keep OpenSSL's defaults.
struct ProtocolOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// TLS 1.2 and 1.3 with OpenSSL's default ciphers and groups, no ALPN, no key log.
  ProtocolOptions() = default;

  /// The oldest version used.
  Version min_version = Version::tls1_2;
  /// The newest version used.
  Version max_version = Version::tls1_3;
  /// TLS 1.2 cipher list, OpenSSL syntax ("ECDHE+AESGCM:ECDHE+CHACHA20").
  std::string tls12_ciphers;
  /// TLS 1.3 cipher suites ("TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256").
  std::string tls13_ciphersuites;
  /// Key-exchange groups, most preferred first ("X25519:P-256:ffdhe2048").
  std::string groups;
  /// Signature algorithms accepted and used in handshakes, OpenSSL syntax
  /// ("ECDSA+SHA256:rsa_pss_rsae_sha256"). Empty: ECDSA, EdDSA, RSA-PSS and
  /// RSA PKCS#1 with SHA-256 or stronger (no SHA-1, no SHA-224).
  std::string signature_algorithms;
  /// ALPN protocol names, most preferred first. A client offers them; a
  /// server chooses from its own list and fails a client with no overlap.
  std::vector<std::string> alpn;
  /// Appends each connection's secrets to this file in the NSS key log
  /// format (what SSLKEYLOGFILE names), so a capture can be decrypted.
  /// Anyone who can read the file can read the traffic.
  std::string key_log_file;
};

/// How a client treats the server's certificate and name: verified, or,
/// behind names that say so, not.
enum class PeerVerification {
  /// Verified against the trust and the name checked; a failure fails the
  /// handshake. The default.
  full,
  /// Verified, but a failure completes the handshake and is only reported
  /// in Stream::verification(): for inspection tools (`uptls inspect`). A
  /// connection whose verdict is not ok is not authenticated.
  dangerous_report_only,
  /// Any certificate and any name accepted: for debugging only. A
  /// connection made this way is not authenticated.
  dangerous_none,
};

/// What a client configuration is made from. Defaults are the safe choice:
/// TLS 1.2 or newer, the server's certificate verified against the system
/// trust store, its name checked.
struct ClientOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// The safe defaults described above.
  ClientOptions() = default;

  /// The CAs that issue server certificates; none given: the system store.
  Trust trust;
  /// Versions, ciphers, groups, ALPN, key log.
  ProtocolOptions protocol;
  /// A certificate to present when the server asks for one (mutual TLS).
  std::optional<Identity> identity;
  /// Resume TLS sessions: tickets the server sends are kept (per server
  /// name, address and port, each used once) and offered on the next
  /// connection, which then skips the certificate exchange.
  bool session_resumption = true;
  /// How many sessions the cache holds in all (a few KiB each).
  std::size_t session_cache_size = 256;
  /// Ask the server to staple an OCSP response; its verdict is in
  /// SessionInfo::ocsp_status (reported, not enforced).
  bool request_ocsp = false;
  /// Whether the server's certificate and name are verified (see
  /// PeerVerification): full unless a dangerous_ choice is made.
  PeerVerification verification = PeerVerification::full;
};

/// What a trust store holds in memory (seed 003's cert_store_stats()): a
/// hashed directory or the system store loads certificates on demand, so
/// these count only what was loaded so far.
struct TrustStoreStats {
  /// Certificates.
  std::size_t x509 = 0;
  /// Of them, CA certificates.
  std::size_t x509_ca = 0;
  /// Certificate revocation lists.
  std::size_t crl = 0;
};

/// An immutable client configuration, shared by the streams that use it.
class UPTLS_API ClientConfig {
 public:
  /// Builds and checks a configuration.
  /// @throws Error (errc::invalid_config) with the reason when it cannot be built.
  static std::shared_ptr<const ClientConfig> make(const ClientOptions& options = {});

  /// Frees the OpenSSL context once no stream uses the configuration.
  ~ClientConfig();
  /// Not copyable: a configuration is shared through std::shared_ptr.
  ClientConfig(const ClientConfig&) = delete;
  /// Not copyable: a configuration is shared through std::shared_ptr.
  ClientConfig& operator=(const ClientConfig&) = delete;

  /// Whether the server's certificate and name are verified (also when
  /// PeerVerification::dangerous_report_only only reports the verdict).
  bool verifies_peer() const noexcept;

  /// What the trust store holds now.
  TrustStoreStats trust_store_stats() const;

  /// Choices weaker than the defaults that the options asked for (TLS 1.2
  /// ciphers without forward secrecy or without AEAD), one sentence each;
  /// empty with the defaults. Tools print them as warnings.
  const std::vector<std::string>& warnings() const noexcept;

  /// The OpenSSL SSL_CTX* behind this configuration; for what uptls does not
  /// cover. Changing it affects every stream that shares the configuration.
  ssl_ctx_st* native_handle() const noexcept;

 private:
  struct Impl;
  explicit ClientConfig(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend struct detail::ConfigAccess;
};

/// What a server configuration is made from.
struct ServerOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  /// No identity yet (set one: make() refuses a configuration without it).
  ServerOptions() = default;

  /// The certificate chain and key the server presents by default.
  Identity identity;
  /// More identities, each chosen when the name a client sends (SNI)
  /// matches one of its DNS names (a wildcard matches one label).
  std::vector<Identity> sni_identities;
  /// Asked for a name that no identity matches; may return an identity
  /// made on the fly (an intercepting proxy mints one per host), which is
  /// kept for later connections with that name. Empty: the default identity.
  /// Called from the handshake, on the thread running it: with a server on
  /// several threads, calls for different names may run at once. The
  /// identities made are kept for the identities_kept names used most
  /// recently; when two handshakes mint one for the same name at once, the
  /// first is kept. A client that sends no SNI is taken to ask for the name
  /// given to the server form of Stream::start_tls, if any.
  std::function<std::optional<Identity>(std::string_view server_name)> sni_callback;
  /// How many identities made by sni_callback are kept, whatever the names
  /// (the bound on the memory they take: each is a certificate, a key and
  /// an OpenSSL context, about 20 KiB).
  std::size_t identities_kept = 1024;
  /// Versions, ciphers, groups, ALPN (the server chooses from its list; a
  /// client with no overlap fails the handshake), key log.
  ProtocolOptions protocol;
  /// Whether clients are asked for a certificate.
  ClientAuth client_auth = ClientAuth::none;
  /// The CAs that issue client certificates: trusted for them and named in
  /// the certificate request. Needed when client_auth is not none.
  Trust client_trust;
  /// Finite-field Diffie-Hellman parameters (PEM) for TLS 1.2 DHE, 2048 bits
  /// or more; without them RFC 7919's ffdhe2048 is used.
  std::string dh_params_file;
  /// Session ticket keys shared by a fleet, so that servers behind one
  /// address resume each other's sessions: a file with one key per line,
  /// 160 hexadecimal digits (`openssl rand -hex 80`); the first encrypts new
  /// tickets, all decrypt. Empty: keys made in memory and rotated.
  std::string ticket_keys_file;
  /// An OCSP response (DER) for the certificate, stapled for clients that
  /// ask (RFC 6066 §8). Read when the configuration is built: rebuild it (or
  /// SIGHUP `uptls serve`) when the responder issues a new one.
  std::string ocsp_response_file;
  /// How often in-memory ticket keys are replaced; the previous key still
  /// decrypts for one more period.
  std::chrono::seconds ticket_key_rotation = std::chrono::hours(12);
};

/// An immutable server configuration, shared by the streams that use it.
class UPTLS_API ServerConfig {
 public:
  /// Builds and checks a configuration: the chain parses, the key matches
  /// the leaf certificate.
  /// @throws Error (errc::invalid_config) with the reason when it cannot be built.
  static std::shared_ptr<const ServerConfig> make(const ServerOptions& options);

  /// Builds a configuration with the safe defaults and this identity.
  static std::shared_ptr<const ServerConfig> make(Identity identity);

  /// Frees the OpenSSL context once no stream uses the configuration.
  ~ServerConfig();
  /// Not copyable: a configuration is shared through std::shared_ptr.
  ServerConfig(const ServerConfig&) = delete;
  /// Not copyable: a configuration is shared through std::shared_ptr.
  ServerConfig& operator=(const ServerConfig&) = delete;

  /// The OpenSSL SSL_CTX* behind this configuration.
  ssl_ctx_st* native_handle() const noexcept;

  /// Choices weaker than the defaults that the options asked for (TLS 1.2
  /// ciphers without forward secrecy or without AEAD), one sentence each;
  /// empty with the defaults. Tools print them as warnings.
  const std::vector<std::string>& warnings() const noexcept;

 private:
  struct Impl;
  explicit ServerConfig(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend struct detail::ConfigAccess;
};

}  // namespace uptls::tls
