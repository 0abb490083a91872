#pragma once
// The TLS options `uptls serve` and `uptls client` share: how a command line
// becomes a ServerConfig or ClientConfig.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "uptls/connect.hpp"
#include "uptls/tls/config.hpp"

namespace uptls::cli {

/// Where an identity (certificate chain and key) comes from.
struct IdentityArgs {
  std::string cert;
  std::string key;
  std::string pem;
  std::string pkcs12;
  std::string passphrase_env;
  std::string passphrase_file;

  bool given() const { return !cert.empty() || !key.empty() || !pem.empty() || !pkcs12.empty(); }
  /// Loads it. @throws std::exception with a message for the user.
  tls::Identity load() const;
};

/// Versions, ciphers, groups, ALPN, key log.
struct ProtocolArgs {
  std::string min_tls;
  std::string max_tls;
  std::string ciphers;
  std::string ciphersuites;
  std::string groups;
  std::string signature_algorithms;
  std::string alpn;
  std::string key_log;
  std::string npn;

  tls::ProtocolOptions protocol() const;
};

struct ServerTlsArgs {
  IdentityArgs identity;
  ProtocolArgs protocol;
  std::string ca_out;
  std::vector<std::string> names{"localhost", "127.0.0.1", "::1"};
  std::vector<std::string> client_cas;
  bool request_client_cert = false;
  bool require_client_cert = false;
  std::vector<std::string> sni_pems;
  std::string dhparam;
  std::string ticket_keys;
  std::string ocsp_response;
};

struct ClientTlsArgs {
  // The name for SNI and verification; empty: the host connected to.
  std::string servername;
  IdentityArgs identity;
  ProtocolArgs protocol;
  std::vector<std::string> cafiles;
  std::string capath;
  std::vector<std::string> crls;
  bool crl_chain = false;
  bool insecure = false;
  bool no_resumption = false;
  bool ocsp = false;
  // Not an option: `uptls inspect` completes the handshake whatever the
  // verdict, and reports it.
  bool continue_unverified = false;
  // --send-proxy: "v1", "v2" or empty (none). Not TLS, but every client
  // command connects through connect_options().
  std::string send_proxy;
};

void add_server_tls_options(CLI::App& command, ServerTlsArgs& args);
void add_client_tls_options(CLI::App& command, ClientTlsArgs& args);

/// Builds the server configuration; without a certificate, makes a
/// development CA and a certificate (writing the CA to --ca-out).
std::shared_ptr<const tls::ServerConfig> make_server_config(const ServerTlsArgs& args);

/// Builds the client configuration; --insecure is announced on stderr.
std::shared_ptr<const tls::ClientConfig> make_client_config(const ClientTlsArgs& args);

/// The client configuration and --servername, ready for open_connection.
ConnectOptions connect_options(const ClientTlsArgs& args);

}  // namespace uptls::cli
