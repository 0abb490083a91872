#pragma once
/// @file
/// Immutable, shared TLS configurations for the client and the server role.
///
/// A configuration is checked completely when it is built: a missing file, a
/// key that does not match its certificate or an unsafe protocol version is
/// an Error from make(), never a surprise at the first handshake. Built
/// configurations are immutable and may be shared by any number of streams
/// and threads.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace uptls::tls {

/// TLS protocol versions uptls negotiates. Older versions are not offered.
enum class Version { tls1_2, tls1_3 };

/// A certificate chain and its private key, as PEM text.
///
/// The factories only read files; the pair is parsed and checked when a
/// ServerConfig is built from it.
struct Identity {
  /// The leaf certificate first, then any intermediates.
  std::string chain_pem;
  /// The private key of the leaf certificate (unencrypted PEM).
  std::string key_pem;

  /// Reads the chain and the key from two PEM files.
  /// @throws Error (errc::invalid_config) when a file cannot be read.
  static Identity from_files(const std::string& chain_path, const std::string& key_path);

  /// Reads one PEM file that holds both the key and the certificate chain
  /// (Twisted's and HAProxy's combined form).
  /// @throws Error (errc::invalid_config) when the file cannot be read.
  static Identity from_pem_file(const std::string& path);
};

/// What a client configuration is made from. Defaults are the safe choice:
/// TLS 1.2 or newer, the server's certificate verified against the system
/// trust store, its name checked.
struct ClientOptions {
  // Deliberately not an aggregate: GCC 12 destroys aggregate temporaries in a
  // co_await expression twice. Set the fields you need on a named object.
  ClientOptions() = default;

  /// PEM files of CAs to trust instead of the system store.
  std::vector<std::string> ca_files;
  /// PEM text of CAs to trust instead of the system store.
  std::string ca_pem;
  /// The oldest version offered.
  Version min_version = Version::tls1_2;
  /// The newest version offered.
  Version max_version = Version::tls1_3;
  /// ALPN protocol names to offer, most preferred first.
  std::vector<std::string> alpn;
  /// Resume TLS sessions: tickets the server sends are kept (per server
  /// name, address and port, each used once) and offered on the next
  /// connection, which then skips the certificate exchange.
  bool session_resumption = true;
  /// How many sessions the cache holds in all (a few KiB each).
  std::size_t session_cache_size = 256;
  /// Accept any server certificate and any name. Only for debugging: a
  /// connection made this way is not authenticated.
  bool dangerous_skip_verification = false;
};

/// An immutable client configuration, shared by the streams that use it.
class ClientConfig {
 public:
  /// Builds and checks a configuration.
  /// @throws Error (errc::invalid_config) with the reason when it cannot be built.
  static std::shared_ptr<const ClientConfig> make(const ClientOptions& options = {});

  ~ClientConfig();
  ClientConfig(const ClientConfig&) = delete;
  ClientConfig& operator=(const ClientConfig&) = delete;

  /// Whether the server's certificate and name are verified.
  bool verifies_peer() const noexcept;

  /// The OpenSSL SSL_CTX* behind this configuration; for what uptls does not
  /// cover. Changing it affects every stream that shares the configuration.
  void* native_handle() const noexcept;

 private:
  struct Impl;
  explicit ClientConfig(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// What a server configuration is made from.
struct ServerOptions {
  // Deliberately not an aggregate: GCC 12 destroys aggregate temporaries in a
  // co_await expression twice. Set the fields you need on a named object.
  ServerOptions() = default;

  /// The certificate chain and key the server presents.
  Identity identity;
  /// The oldest version accepted.
  Version min_version = Version::tls1_2;
  /// The newest version accepted.
  Version max_version = Version::tls1_3;
  /// ALPN protocol names the server accepts, most preferred first. With a
  /// non-empty list a client that offers none of them fails the handshake.
  std::vector<std::string> alpn;
};

/// An immutable server configuration, shared by the streams that use it.
class ServerConfig {
 public:
  /// Builds and checks a configuration: the chain parses, the key matches
  /// the leaf certificate.
  /// @throws Error (errc::invalid_config) with the reason when it cannot be built.
  static std::shared_ptr<const ServerConfig> make(const ServerOptions& options);

  /// Builds a configuration with the safe defaults and this identity.
  static std::shared_ptr<const ServerConfig> make(Identity identity);

  ~ServerConfig();
  ServerConfig(const ServerConfig&) = delete;
  ServerConfig& operator=(const ServerConfig&) = delete;

  /// The OpenSSL SSL_CTX* behind this configuration.
  void* native_handle() const noexcept;

 private:
  struct Impl;
  explicit ServerConfig(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace uptls::tls
