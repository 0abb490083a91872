#include "tls_options.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "files.hpp"
#include "uptls/tls/authority.hpp"

namespace uptls::cli {
namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

void add_identity_options(CLI::App& command, IdentityArgs& args, const std::string& whose) {
  command.add_option("--cert", args.cert, whose + " certificate chain file (PEM or DER)");
  command.add_option("--key", args.key, whose + " private key file (PEM or DER)");
  command.add_option("--pem", args.pem, whose + " key and chain in one PEM file");
  command.add_option("--pkcs12", args.pkcs12, whose + " key and chain in a PKCS#12 file");
  command.add_option("--passphrase-env", args.passphrase_env,
                     "environment variable holding the key's passphrase");
  command.add_option("--passphrase-file", args.passphrase_file,
                     "file whose first line is the key's passphrase");
}

void add_protocol_options(CLI::App& command, ProtocolArgs& args) {
  command.add_option("--min-tls", args.min_tls, "oldest TLS version: 1.2 (default) or 1.3");
  command.add_option("--max-tls", args.max_tls, "newest TLS version: 1.2 or 1.3 (default)");
  command.add_option("--ciphers", args.ciphers,
                     "TLS 1.2 ciphers, OpenSSL syntax (as openssl s_client -cipher)");
  command.add_option("--ciphersuites", args.ciphersuites,
                     "TLS 1.3 cipher suites (as openssl s_client -ciphersuites)");
  command.add_option("--groups", args.groups, "key-exchange groups, e.g. X25519:P-256");
  command.add_option("--sigalgs", args.signature_algorithms,
                     "signature algorithms, e.g. ECDSA+SHA256:rsa_pss_rsae_sha256 (default: "
                     "SHA-256 or stronger)");
  command.add_option("--alpn", args.alpn, "ALPN protocols, comma-separated, preferred first");
  command.add_option("--key-log", args.key_log,
                     "append TLS secrets to this file for Wireshark (default: $SSLKEYLOGFILE)");
  command.add_option("--npn", args.npn, "not supported: NPN was replaced by ALPN (use --alpn)");
}

}  // namespace

tls::Identity IdentityArgs::load() const {
  tls::Passphrase passphrase;
  if (!passphrase_env.empty()) passphrase = tls::Passphrase::environment(passphrase_env);
  if (!passphrase_file.empty()) passphrase = tls::Passphrase::file(passphrase_file);
  if (!pkcs12.empty()) return tls::Identity::from_pkcs12_file(pkcs12, passphrase);
  if (!pem.empty()) return tls::Identity::from_pem_file(pem, passphrase);
  if (cert.empty() || key.empty()) {
    throw std::invalid_argument("--cert and --key go together (or use --pem or --pkcs12)");
  }
  return tls::Identity::from_files(cert, key, passphrase);
}

tls::ProtocolOptions ProtocolArgs::protocol() const {
  if (!npn.empty()) {
    throw std::invalid_argument(
        "NPN is not supported: it was never standardized and was replaced by ALPN (RFC 7301); "
        "use --alpn " +
        npn);
  }
  tls::ProtocolOptions protocol;
  if (!min_tls.empty()) protocol.min_version = tls::parse_version(min_tls);
  if (!max_tls.empty()) protocol.max_version = tls::parse_version(max_tls);
  protocol.tls12_ciphers = ciphers;
  protocol.tls13_ciphersuites = ciphersuites;
  protocol.groups = groups;
  protocol.signature_algorithms = signature_algorithms;
  protocol.alpn = split_commas(alpn);
  protocol.key_log_file = key_log;
  if (protocol.key_log_file.empty()) {
    if (const char* file = std::getenv("SSLKEYLOGFILE")) protocol.key_log_file = file;
  }
  if (!protocol.key_log_file.empty()) {
    std::fprintf(stderr,
                 "uptls: writing TLS secrets to %s: anyone who can read it can read "
                 "the traffic\n",
                 protocol.key_log_file.c_str());
  }
  return protocol;
}

void add_server_tls_options(CLI::App& command, ServerTlsArgs& args) {
  add_identity_options(command, args.identity, "the server's");
  command.add_option("--ca-out", args.ca_out,
                     "without a certificate: the CA that signs this run's certificate, kept here "
                     "(its key in FILE.key): made on the first run, reused after");
  command.add_option("--name", args.names, "names of the made-up certificate")
      ->capture_default_str();
  add_protocol_options(command, args.protocol);
  command.add_option("--client-ca", args.client_cas, "CA file for client certificates");
  command.add_flag("--request-client-cert", args.request_client_cert,
                   "ask clients for a certificate (optional)");
  command.add_flag("--require-client-cert", args.require_client_cert,
                   "require a client certificate from --client-ca");
  command.add_option("--sni-pem", args.sni_pems,
                     "another identity (key and chain in one PEM), chosen by SNI");
  command.add_option("--dhparam", args.dhparam, "DH parameters (PEM) for TLS 1.2 DHE");
  command.add_option("--ticket-keys", args.ticket_keys,
                     "session ticket keys shared by a fleet, one `openssl rand -hex 80` per line");
  command.add_option("--ocsp-response", args.ocsp_response,
                     "OCSP response (DER) to staple for clients that ask");
}

void add_client_tls_options(CLI::App& command, ClientTlsArgs& args) {
  command
      .add_option("--send-proxy", args.send_proxy,
                  "send a PROXY protocol header (v1 or v2) naming this connection's own address "
                  "first, as a load balancer does (for a server with --proxy-protocol)")
      ->check(CLI::IsMember({"v1", "v2"}));
  command.add_option(
      "--servername", args.servername,
      "the name to send (SNI) and verify the certificate against (default: HOST; as openssl "
      "s_client -servername)");
  command.add_option(
      "--cafile", args.cafiles,
      "trust this CA file instead of the system store (as openssl s_client -CAfile)");
  command.add_option("--capath", args.capath,
                     "trust the CAs of this hashed directory (as openssl s_client -CApath)");
  command.add_option("--crl", args.crls, "check revocation against this CRL file (PEM)");
  command.add_flag("--crl-chain", args.crl_chain, "check every certificate of the chain");
  add_identity_options(command, args.identity, "the client's");
  add_protocol_options(command, args.protocol);
  command.add_flag("--insecure", args.insecure,
                   "DANGEROUS: accept any certificate for any name (debugging only)");
  command.add_flag("--no-resumption", args.no_resumption, "always do a full handshake");
  command.add_flag("--ocsp", args.ocsp, "ask for the server's stapled OCSP status and show it");
}

std::shared_ptr<const tls::ServerConfig> make_server_config(const ServerTlsArgs& args) {
  tls::ServerOptions options;
  if (args.identity.given()) {
    options.identity = args.identity.load();
  } else {
    tls::DevAuthority authority;
    if (args.ca_out.empty()) {
      std::fprintf(stderr,
                   "uptls serve: no certificate given: using a made-up one; pass --ca-out FILE "
                   "so clients can trust it\n");
    } else {
      authority = kept_authority(
          args.ca_out, args.ca_out + ".key", "uptls development CA",
          [](const std::string& line) { std::fprintf(stderr, "uptls serve: %s\n", line.c_str()); });
    }
    options.identity = authority.issue(args.names);
  }
  options.protocol = args.protocol.protocol();
  for (const auto& pem : args.sni_pems) {
    options.sni_identities.push_back(tls::Identity::from_pem_file(pem));
  }
  if (args.require_client_cert || args.request_client_cert) {
    options.client_auth =
        args.require_client_cert ? tls::ClientAuth::require : tls::ClientAuth::request;
    options.client_trust.ca_files = args.client_cas;
  }
  options.dh_params_file = args.dhparam;
  options.ticket_keys_file = args.ticket_keys;
  options.ocsp_response_file = args.ocsp_response;
  auto config = tls::ServerConfig::make(options);
  for (const auto& warning : config->warnings()) {
    std::fprintf(stderr, "uptls serve: warning: %s\n", warning.c_str());
  }
  return config;
}

std::shared_ptr<const tls::ClientConfig> make_client_config(const ClientTlsArgs& args) {
  tls::ClientOptions options;
  options.trust.ca_files = args.cafiles;
  if (!args.capath.empty()) options.trust.ca_dirs.push_back(args.capath);
  options.trust.crl_files = args.crls;
  if (args.crl_chain) options.trust.crl_check = tls::CrlCheck::chain;
  if (args.identity.given()) options.identity = args.identity.load();
  options.protocol = args.protocol.protocol();
  options.session_resumption = !args.no_resumption;
  options.request_ocsp = args.ocsp;
  if (args.continue_unverified) {
    options.verification = tls::PeerVerification::dangerous_report_only;
  }
  if (args.insecure) {
    std::fprintf(stderr,
                 "WARNING: --insecure: the server's certificate and name are NOT verified; "
                 "anyone can impersonate it. Use only for debugging.\n");
    options.verification = tls::PeerVerification::dangerous_none;
  }
  auto config = tls::ClientConfig::make(options);
  for (const auto& warning : config->warnings()) {
    std::fprintf(stderr, "uptls client: warning: %s\n", warning.c_str());
  }
  return config;
}

ConnectOptions connect_options(const ClientTlsArgs& args) {
  ConnectOptions options;
  options.tls = make_client_config(args);
  options.server_name = args.servername;
  if (!args.send_proxy.empty()) options.send_proxy = args.send_proxy == "v1" ? 1 : 2;
  return options;
}

}  // namespace uptls::cli
