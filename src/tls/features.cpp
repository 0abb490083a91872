// What OpenSSL offers and what uptls uses by default: each item is tried on
// a fresh context, so the answer is this build's, not a list from a manual.

#include "uptls/tls/features.hpp"

#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <filesystem>
#include <set>

#include "tls/config_access.hpp"
#include "tls/defaults.hpp"
#include "tls/handles.hpp"
#include "uptls/tls/config.hpp"
#include "uptls/version.hpp"

namespace uptls::tls {
namespace {

using detail::SslCtxPtr;

SslCtxPtr permissive_context() {
  SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_min_proto_version(ctx.get(), 0);
  return ctx;
}

std::set<std::string> cipher_names(SSL_CTX* ctx) {
  std::set<std::string> names;
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    names.insert(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i)));
  }
  return names;
}

/// The names in list that ctx accepts one at a time, set checks each.
template <typename Set>
std::vector<Feature> tried(const std::vector<std::string>& list, Set set,
                           const std::set<std::string>& defaults) {
  std::vector<Feature> found;
  for (const auto& name : list) {
    SslCtxPtr ctx = permissive_context();
    Feature feature;
    feature.name = name;
    feature.available = set(ctx.get(), name.c_str()) == 1;
    feature.on_by_default = feature.available && defaults.count(name) > 0;
    found.push_back(feature);
  }
  return found;
}

std::set<std::string> split(const std::string& list) {
  std::set<std::string> names;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto end = list.find(':', start);
    if (end == std::string::npos) end = list.size();
    if (end > start) names.insert(list.substr(start, end - start));
    start = end + 1;
  }
  return names;
}

Feature item(std::string name, bool available, bool on, std::string note) {
  Feature feature;
  feature.name = std::move(name);
  feature.available = available;
  feature.on_by_default = on;
  feature.note = std::move(note);
  return feature;
}

// Versions: what the library can negotiate at all, and uptls's range.
std::vector<Feature> versions(SSL_CTX* uptls) {
  struct NamedVersion {
    const char* name;
    int number;
  };
  std::vector<Feature> out;
  for (NamedVersion v :
       {NamedVersion{"SSLv3", SSL3_VERSION}, NamedVersion{"TLSv1", TLS1_VERSION},
        NamedVersion{"TLSv1.1", TLS1_1_VERSION}, NamedVersion{"TLSv1.2", TLS1_2_VERSION},
        NamedVersion{"TLSv1.3", TLS1_3_VERSION}}) {
    SslCtxPtr ctx = permissive_context();
#ifdef OPENSSL_NO_SSL3
    bool compiled = v.number != SSL3_VERSION;
#else
    bool compiled = true;
#endif
    bool available = compiled && SSL_CTX_set_min_proto_version(ctx.get(), v.number) == 1 &&
                     SSL_CTX_set_max_proto_version(ctx.get(), v.number) == 1 &&
                     SSL_CTX_get_min_proto_version(ctx.get()) == v.number;
    bool on = v.number >= SSL_CTX_get_min_proto_version(uptls) &&
              (SSL_CTX_get_max_proto_version(uptls) == 0 ||
               v.number <= SSL_CTX_get_max_proto_version(uptls));
    std::string note = v.number < TLS1_2_VERSION ? "deprecated (RFC 8996); uptls refuses it" : "";
    out.push_back(item(v.name, available, on, note));
  }
  return out;
}

// Ciphers: everything the library knows, marked with uptls's choice.
void ciphers(SSL_CTX* uptls, Features& result) {
  SslCtxPtr all = permissive_context();
  SSL_CTX_set_cipher_list(all.get(), "ALL:COMPLEMENTOFALL");
  std::set<std::string> chosen = cipher_names(uptls);
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(all.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    std::string name = SSL_CIPHER_get_name(cipher);
    bool tls13 = SSL_CIPHER_get_kx_nid(cipher) == NID_kx_any;
    std::string note = SSL_CIPHER_get_version(cipher);
    auto& list = tls13 ? result.tls13_ciphersuites : result.tls12_ciphers;
    list.push_back(item(name, true, chosen.count(name) > 0, note));
  }
}

std::vector<Feature> groups() {
  const std::vector<std::string> known = {"X25519",    "X448",      "P-256",           "P-384",
                                          "P-521",     "ffdhe2048", "ffdhe3072",       "ffdhe4096",
                                          "ffdhe6144", "ffdhe8192", "brainpoolP256r1", "secp256k1"};
  return tried(
      known, [](SSL_CTX* ctx, const char* name) { return SSL_CTX_set1_groups_list(ctx, name); },
      split(detail::safe_groups));
}

std::vector<Feature> signature_algorithms() {
  const std::vector<std::string> known = {"ECDSA+SHA256",
                                          "ECDSA+SHA384",
                                          "ECDSA+SHA512",
                                          "ed25519",
                                          "ed448",
                                          "rsa_pss_rsae_sha256",
                                          "rsa_pss_rsae_sha384",
                                          "rsa_pss_rsae_sha512",
                                          "rsa_pss_pss_sha256",
                                          "rsa_pss_pss_sha384",
                                          "rsa_pss_pss_sha512",
                                          "RSA+SHA256",
                                          "RSA+SHA384",
                                          "RSA+SHA512",
                                          "ECDSA+SHA224",
                                          "RSA+SHA224",
                                          "ECDSA+SHA1",
                                          "RSA+SHA1",
                                          "DSA+SHA256"};
  return tried(
      known, [](SSL_CTX* ctx, const char* name) { return SSL_CTX_set1_sigalgs_list(ctx, name); },
      split(detail::safe_signature_algorithms));
}

std::vector<Feature> options_of(SSL_CTX* uptls) {
  std::vector<Feature> out;
  std::uint64_t set = SSL_CTX_get_options(uptls);
  auto option = [&](const char* name, std::uint64_t bit, const char* note) {
    out.push_back(item(name, true, (set & bit) != 0, note));
  };
  option("no_compression", SSL_OP_NO_COMPRESSION, "no TLS compression (CRIME)");
  option("no_renegotiation", SSL_OP_NO_RENEGOTIATION, "renegotiation refused");
  out.push_back(
      item("cipher_server_preference", true, true, "servers choose the cipher by their own order"));
  option("no_ticket", SSL_OP_NO_TICKET, "session tickets off");
  option("enable_ktls", SSL_OP_ENABLE_KTLS, "kernel TLS offload");
  return out;
}

std::vector<Feature> extensions() {
#ifdef OPENSSL_NO_KTLS
  bool ktls = false;
  std::string ktls_note = "OpenSSL was built without kernel TLS";
#else
  bool ktls = std::filesystem::exists("/sys/module/tls");
  std::string ktls_note =
      ktls ? "OpenSSL and the kernel support it; uptls's transport does its own I/O"
           : "the kernel's tls module is not loaded";
#endif
#ifdef OPENSSL_NO_NEXTPROTONEG
  bool npn = false;
#else
  bool npn = true;
#endif
  return {
      item("ECDH", true, true, "ephemeral elliptic-curve key exchange (X25519, P-256, ...)"),
      item("SNI", true, true, "server name indication: clients send it, servers choose by it"),
      item("ALPN", true, true, "application protocol negotiation (ProtocolOptions::alpn)"),
      item("NPN", npn, false, "replaced by ALPN; uptls does not offer it"),
      item("session tickets", true, true, "TLS 1.3 tickets used once, keys rotated"),
      item("OCSP stapling", true, true, "servers staple a response given; clients report it"),
      item("kernel TLS", ktls, false, ktls_note),
  };
}

}  // namespace

Features features() {
  Features result;
  result.library = std::string(openssl_version());
  // The defaults without the system trust store, which may be missing here.
  ClientOptions options;
  options.verification = PeerVerification::dangerous_none;
  auto defaults = ClientConfig::make(options);
  SSL_CTX* uptls = detail::context_of(*defaults);
  result.versions = versions(uptls);
  ciphers(uptls, result);
  result.groups = groups();
  result.signature_algorithms = signature_algorithms();
  result.verify_modes = {
      item("none", true, false, "servers that ask for no client certificate (the default)"),
      item("peer", true, true, "clients verify the server's chain and name (the default)"),
      item("request", true, false, "servers that ask for a client certificate"),
      item("require", true, false, "servers that need a client certificate"),
  };
  result.verify_flags = {
      item("crl_check", true, false, "the leaf against CRLs given (Trust::crl_files)"),
      item("crl_check_all", true, false, "the whole chain against CRLs (Trust::crl_chain)"),
      item("x509_strict", true, false, "OpenSSL's strict X.509 checks"),
      item("partial_chain", true, false, "trusting an intermediate alone; uptls never does"),
      item("subject_cn_fallback", true, false,
           "matching the subject CN when there is no subjectAltName; uptls never does"),
  };
  result.options = options_of(uptls);
  result.extensions = extensions();
  return result;
}

}  // namespace uptls::tls
