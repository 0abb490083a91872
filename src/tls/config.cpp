// Building the client and server configurations: protocol choices, trust,
// identities, client authentication, SNI, key log. Each setting is checked
// here, when the configuration is built.

#include "uptls/tls/config.hpp"

#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "ascii.hpp"
#include "lru_cache.hpp"
#include "tls/certificates.hpp"
#include "tls/config_access.hpp"
#include "tls/defaults.hpp"
#include "tls/errors.hpp"
#include "tls/key_log.hpp"
#include "tls/session_cache.hpp"
#include "tls/ticket_keys.hpp"

namespace uptls::tls {

using detail::config_error;
using detail::SslCtxPtr;

namespace {

using detail::safe_groups;
using detail::safe_signature_algorithms;
using detail::safe_tls12_ciphers;
using detail::safe_tls12_ciphers_with_dhe;

int protocol_number(Version v) { return v == Version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) {
      detail::invalid_config("ALPN protocol names must be 1 to 255 bytes: '" + p + "'");
    }
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

// Settings both roles share: see docs/defaults.md for why each is chosen.
SslCtxPtr new_context(const SSL_METHOD* method, const ProtocolOptions& protocol, bool dhe = false) {
  if (protocol_number(protocol.min_version) > protocol_number(protocol.max_version)) {
    detail::invalid_config("minimum TLS version is newer than the maximum");
  }
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) throw config_error("cannot create an OpenSSL context");
  SSL_CTX_set_min_proto_version(ctx.get(), protocol_number(protocol.min_version));
  SSL_CTX_set_max_proto_version(ctx.get(), protocol_number(protocol.max_version));
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Buffers are released while a connection is idle: most of the memory an
  // idle TLS connection would otherwise hold (about 34 KiB each).
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  const std::string& ciphers =
      protocol.tls12_ciphers.empty()
          ? std::string(dhe ? safe_tls12_ciphers_with_dhe : safe_tls12_ciphers)
          : protocol.tls12_ciphers;
  if (SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) != 1) {
    detail::invalid_config("no usable TLS 1.2 cipher in '" + ciphers + "'");
  }
  if (!protocol.tls13_ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx.get(), protocol.tls13_ciphersuites.c_str()) != 1) {
    detail::invalid_config("no usable TLS 1.3 cipher suite in '" + protocol.tls13_ciphersuites +
                           "'");
  }
  const std::string& groups = protocol.groups.empty() ? std::string(safe_groups) : protocol.groups;
  if (SSL_CTX_set1_groups_list(ctx.get(), groups.c_str()) != 1) {
    detail::invalid_config("unknown key-exchange group in '" + groups + "'");
  }
  const std::string& signatures = protocol.signature_algorithms.empty()
                                      ? std::string(safe_signature_algorithms)
                                      : protocol.signature_algorithms;
  if (SSL_CTX_set1_sigalgs_list(ctx.get(), signatures.c_str()) != 1 ||
      SSL_CTX_set1_client_sigalgs_list(ctx.get(), signatures.c_str()) != 1) {
    detail::invalid_config("unknown signature algorithm in '" + signatures + "'");
  }
  alpn_wire(protocol.alpn);  // checks the names
  return ctx;
}

/// The TLS 1.2 ciphers of ctx that lack forward secrecy or AEAD, as warnings.
std::vector<std::string> weak_choices(SSL_CTX* ctx, const ProtocolOptions& protocol) {
  std::vector<std::string> warnings;
  if (protocol.min_version != Version::tls1_2) return warnings;
  std::string no_secrecy, no_aead;
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    int kx = SSL_CIPHER_get_kx_nid(cipher);
    if (kx == NID_kx_any) continue;  // a TLS 1.3 suite: always forward secret and AEAD
    std::string name = SSL_CIPHER_get_name(cipher);
    if (kx != NID_kx_ecdhe && kx != NID_kx_dhe)
      no_secrecy += (no_secrecy.empty() ? "" : ", ") + name;
    if (!SSL_CIPHER_is_aead(cipher)) no_aead += (no_aead.empty() ? "" : ", ") + name;
  }
  if (!no_secrecy.empty()) {
    warnings.push_back("TLS 1.2 ciphers without forward secrecy are enabled: " + no_secrecy);
  }
  if (!no_aead.empty()) {
    warnings.push_back("TLS 1.2 ciphers without AEAD (CBC, Lucky13) are enabled: " + no_aead);
  }
  return warnings;
}

void add_ca_pem(X509_STORE* store, std::string_view pem, const std::string& what,
                STACK_OF(X509_NAME) * names) {
  for (auto& cert : detail::parse_certificates(pem, what)) {
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      throw config_error("cannot add a CA certificate from " + what);
    }
    if (names) sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(cert.get())));
  }
}

void use_system_trust(SSL_CTX* ctx) {
  const char* file_env = std::getenv(X509_get_default_cert_file_env());
  const char* dir_env = std::getenv(X509_get_default_cert_dir_env());
  const char* file = file_env ? file_env : X509_get_default_cert_file();
  const char* dir = dir_env ? dir_env : X509_get_default_cert_dir();
  std::error_code ignored;
  if (!std::filesystem::exists(file, ignored) && !std::filesystem::is_directory(dir, ignored)) {
    detail::invalid_config(
        std::string("no system trust store: neither ") + file + " nor " + dir +
        " exists; install it (apt-get install ca-certificates) or give a CA file");
  }
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    throw config_error("cannot load the system trust store");
  }
}

/// Loads the trust settings into ctx's store; true if any CA was given.
/// names, when given, collects the CA subjects (for a certificate request).
bool load_trust(SSL_CTX* ctx, const Trust& trust, STACK_OF(X509_NAME) * names) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& file : trust.ca_files) {
    add_ca_pem(store, detail::read_file(file, "CA file"), "CA file '" + file + "'", names);
  }
  if (!trust.ca_pem.empty()) add_ca_pem(store, trust.ca_pem, "the CA PEM text", names);
  for (const auto& dir : trust.ca_dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      detail::invalid_config("CA directory '" + dir + "' does not exist");
    if (X509_STORE_load_path(store, dir.c_str()) != 1) {
      throw config_error("cannot use CA directory '" + dir + "'");
    }
  }
  for (const auto& file : trust.crl_files) {
    std::string text = detail::read_file(file, "CRL file");
    detail::BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    int count = 0;
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_crl(store, crl);
      X509_CRL_free(crl);
      ++count;
    }
    ERR_clear_error();
    if (count == 0) detail::invalid_config("no PEM CRL found in '" + file + "'");
  }
  if (!trust.crl_files.empty()) {
    X509_STORE_set_flags(store, trust.crl_check == CrlCheck::chain
                                    ? X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL
                                    : X509_V_FLAG_CRL_CHECK);
  }
  return !trust.ca_files.empty() || !trust.ca_pem.empty() || !trust.ca_dirs.empty();
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const auto& ours = *static_cast<const std::vector<std::string>*>(arg);
  // The server's order decides (RFC 7301 §3.2 leaves the choice to the server).
  for (const auto& protocol : ours) {
    for (unsigned int i = 0; i < inlen;) {
      unsigned int n = in[i];
      if (i + 1 + n > inlen) break;
      if (n == protocol.size() && std::memcmp(in + i + 1, protocol.data(), n) == 0) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(n);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + n;
    }
  }
  // RFC 7301 §3.2: no overlap is a fatal no_application_protocol alert.
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

void use_dh_params(SSL_CTX* ctx, const std::string& path) {
  std::string text = detail::read_file(path, "DH parameters file");
  detail::BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  detail::PkeyPtr params(PEM_read_bio_Parameters(bio.get(), nullptr));
  if (!params || EVP_PKEY_get_base_id(params.get()) != EVP_PKEY_DH) {
    detail::invalid_config("no PEM DH parameters in '" + path + "'");
  }
  int bits = EVP_PKEY_get_bits(params.get());
  if (bits < 2048) {
    detail::invalid_config("the DH parameters in '" + path + "' have " + std::to_string(bits) +
                           " bits: 2048 or more are needed (Logjam)");
  }
  if (SSL_CTX_set0_tmp_dh_pkey(ctx, params.get()) != 1)
    throw config_error("cannot use DH parameters");
  params.release();  // the context owns them now
}

std::string lower(std::string_view text) { return uptls::detail::ascii_lower(text); }

/// RFC 6125 §6.4.3: a wildcard stands for exactly the whole left-most label.
bool name_matches(std::string_view pattern, std::string_view name) {
  std::string p = lower(pattern), n = lower(name);
  if (p.rfind("*.", 0) != 0) return p == n;
  auto dot = n.find('.');
  return dot != std::string::npos && dot > 0 && n.substr(dot) == p.substr(1);
}

// The name set by answer_without_sni, per connection.
int no_sni_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

Version parse_version(std::string_view text) {
  std::string v = lower(text);
  for (std::string_view prefix : {"tlsv", "tls"}) {
    if (v.rfind(prefix, 0) == 0) {
      v.erase(0, prefix.size());
      break;
    }
  }
  std::replace(v.begin(), v.end(), '_', '.');
  if (v == "1.2") return Version::tls1_2;
  if (v == "1.3") return Version::tls1_3;
  if (v == "1" || v == "1.0" || v == "1.1") {
    detail::invalid_config(
        "TLS " + std::string(v == "1" ? "1.0" : v) +
        " is not supported: RFC 8996 deprecates TLS 1.0 and 1.1; use 1.2 or 1.3");
  }
  std::string l = lower(text);
  if (l.find("ssl") != std::string::npos) {
    detail::invalid_config(
        std::string(text) +
        " is not supported: SSL 2 and 3 are broken (RFC 6176, RFC 7568); use TLS 1.2 or 1.3");
  }
  detail::invalid_config("unknown TLS version '" + std::string(text) + "': use 1.2 or 1.3");
}

struct ClientConfig::Impl {
  // Declared before ctx, so they outlive the context that points at them.
  std::unique_ptr<detail::SessionCache> cache;
  std::unique_ptr<detail::KeyLog> key_log;
  SslCtxPtr ctx;
  bool verify = true;
  std::vector<std::string> warnings;
};

ClientConfig::ClientConfig(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientConfig::~ClientConfig() = default;

std::shared_ptr<const ClientConfig> ClientConfig::make(const ClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->ctx = new_context(TLS_client_method(), options.protocol);
  impl->warnings = weak_choices(impl->ctx.get(), options.protocol);
  SSL_CTX* ctx = impl->ctx.get();
  impl->verify = options.verification != PeerVerification::dangerous_none;
  // Reporting only: OpenSSL still verifies with VERIFY_NONE and keeps the
  // verdict (SSL_get_verify_result), which Stream::verification() reports.
  bool refuse = options.verification == PeerVerification::full;
  SSL_CTX_set_verify(ctx, refuse ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!load_trust(ctx, options.trust, nullptr) && impl->verify) use_system_trust(ctx);

  if (options.identity) detail::use_identity(ctx, *options.identity, true);
  if (!options.protocol.alpn.empty()) {
    std::string wire = alpn_wire(options.protocol.alpn);
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
      throw config_error("cannot set the ALPN protocols");
    }
  }
  if (!options.protocol.key_log_file.empty()) {
    impl->key_log = std::make_unique<detail::KeyLog>(options.protocol.key_log_file);
    impl->key_log->attach(ctx);
  }
  if (options.request_ocsp) SSL_CTX_set_tlsext_status_type(ctx, TLSEXT_STATUSTYPE_ocsp);
  if (options.session_resumption && options.session_cache_size > 0) {
    impl->cache = std::make_unique<detail::SessionCache>(options.session_cache_size);
    detail::SessionCache::attach(ctx, impl->cache.get());
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  return std::shared_ptr<const ClientConfig>(new ClientConfig(std::move(impl)));
}

bool ClientConfig::verifies_peer() const noexcept { return impl_->verify; }

TrustStoreStats ClientConfig::trust_store_stats() const {
  TrustStoreStats stats;
  X509_STORE* store = SSL_CTX_get_cert_store(impl_->ctx.get());
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  for (int i = 0; objects && i < sk_X509_OBJECT_num(objects); ++i) {
    X509_OBJECT* object = sk_X509_OBJECT_value(objects, i);
    if (X509_OBJECT_get_type(object) == X509_LU_CRL) {
      ++stats.crl;
    } else if (X509* cert = X509_OBJECT_get0_X509(object)) {
      ++stats.x509;
      if (X509_check_ca(cert) != 0) ++stats.x509_ca;
    }
  }
  return stats;
}

ssl_ctx_st* ClientConfig::native_handle() const noexcept { return impl_->ctx.get(); }

const std::vector<std::string>& ClientConfig::warnings() const noexcept { return impl_->warnings; }

SSL_CTX* detail::ConfigAccess::context(const ClientConfig& config) noexcept {
  return config.impl_->ctx.get();
}

struct ServerConfig::Impl {
  /// One context per identity; the first is the default, the others are
  /// switched to by SNI.
  struct Site {
    SslCtxPtr ctx;
    std::vector<std::string> names;
  };

  std::unique_ptr<detail::KeyLog> key_log;
  std::unique_ptr<detail::TicketKeys> ticket_keys;
  std::string ocsp_response;  // DER, stapled for the default identity
  ServerOptions options;
  std::vector<Site> sites;
  std::vector<std::string> warnings;
  // Identities made by the SNI callback, per name; bounded, so a client
  // that sends many names cannot grow it without limit.
  uptls::detail::LruCache<std::string, std::shared_ptr<SSL_CTX>> minted;

  explicit Impl(const ServerOptions& o) : options(o), minted(o.identities_kept) {}

  /// A context with every setting of options and this identity.
  SslCtxPtr site_context(const Identity& identity) {
    SslCtxPtr ctx =
        new_context(TLS_server_method(), options.protocol, !options.dh_params_file.empty());
    SSL_CTX* raw = ctx.get();
    SSL_CTX_set_options(raw, SSL_OP_CIPHER_SERVER_PREFERENCE);
    static constexpr unsigned char session_context[] = "uptls";
    SSL_CTX_set_session_id_context(raw, session_context, sizeof session_context - 1);
    // Serve exactly the chain that was configured, instead of building one
    // from the trust store on every handshake.
    SSL_CTX_set_mode(raw, SSL_MODE_NO_AUTO_CHAIN);
    // DHE only with parameters the operator chose (see safe_tls12_ciphers).
    if (!options.dh_params_file.empty()) use_dh_params(raw, options.dh_params_file);
    detail::use_identity(raw, identity, true);

    if (options.client_auth != ClientAuth::none) {
      STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
      bool any = load_trust(raw, options.client_trust, names);
      SSL_CTX_set_client_CA_list(raw, names);
      if (!any) {
        detail::invalid_config(
            "client authentication needs the CAs that issue client certificates "
            "(client_trust.ca_files, ca_pem or ca_dirs)");
      }
      int mode = SSL_VERIFY_PEER;
      if (options.client_auth == ClientAuth::require) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      SSL_CTX_set_verify(raw, mode, nullptr);
    }
    if (!options.protocol.alpn.empty()) {
      SSL_CTX_set_alpn_select_cb(raw, select_alpn, &options.protocol.alpn);
    }
    if (key_log) key_log->attach(raw);
    ticket_keys->attach(raw);
    return ctx;
  }

  /// The context for a name: a configured site, one made by the callback, or none.
  std::shared_ptr<SSL_CTX> context_for(std::string_view name) {
    for (std::size_t i = 1; i < sites.size(); ++i) {
      for (const auto& pattern : sites[i].names) {
        // Sites live as long as the configuration: no ownership to share.
        if (name_matches(pattern, name)) return {std::shared_ptr<void>(), sites[i].ctx.get()};
      }
    }
    if (!options.sni_callback) return nullptr;
    std::string key = lower(name);
    if (auto found = minted.find(key)) return *found;
    // Made outside the cache's lock: minting a certificate is slow, and
    // other names' handshakes go on meanwhile on other threads.
    std::optional<Identity> identity = options.sni_callback(name);
    if (!identity) return nullptr;
    std::shared_ptr<SSL_CTX> ctx(site_context(*identity).release(), SSL_CTX_free);
    return minted.insert(key, std::move(ctx));
  }

  // RFC 6066 §8: called when a client asks for the certificate's status.
  static int on_status_request(SSL* ssl, void* arg) {
    const auto* self = static_cast<const Impl*>(arg);
    if (SSL_get_SSL_CTX(ssl) != self->sites.front().ctx.get()) return SSL_TLSEXT_ERR_NOACK;
    const std::string& der = self->ocsp_response;
    auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(der.data(), der.size()));
    if (!copy) return SSL_TLSEXT_ERR_NOACK;
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der.size()));
    return SSL_TLSEXT_ERR_OK;
  }

  static int on_server_name(SSL* ssl, int* alert, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name) {
      const auto* fallback = static_cast<const std::string*>(SSL_get_ex_data(ssl, no_sni_index()));
      if (!fallback) return SSL_TLSEXT_ERR_OK;
      name = fallback->c_str();
    }
    try {
      // SSL_set_SSL_CTX takes its own reference: the cache may drop ours.
      if (auto ctx = self->context_for(name)) SSL_set_SSL_CTX(ssl, ctx.get());
      return SSL_TLSEXT_ERR_OK;
    } catch (const std::exception&) {
      // The callback could not make an identity for this name.
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
  }
};

ServerConfig::ServerConfig(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerConfig::~ServerConfig() = default;

std::shared_ptr<const ServerConfig> ServerConfig::make(const ServerOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  if (!options.protocol.key_log_file.empty()) {
    impl->key_log = std::make_unique<detail::KeyLog>(options.protocol.key_log_file);
  }
  impl->ticket_keys = options.ticket_keys_file.empty()
                          ? detail::TicketKeys::rotating(options.ticket_key_rotation)
                          : detail::TicketKeys::from_file(options.ticket_keys_file);
  impl->sites.push_back({impl->site_context(options.identity), {}});
  impl->warnings = weak_choices(impl->sites.front().ctx.get(), options.protocol);
  for (const auto& identity : options.sni_identities) {
    Impl::Site site{impl->site_context(identity), {}};
    auto chain = detail::parse_certificates(identity.chain_pem, "an SNI identity");
    site.names = detail::describe(chain.front().get()).dns_names;
    if (site.names.empty())
      detail::invalid_config("an SNI identity has no DNS names to be chosen by");
    impl->sites.push_back(std::move(site));
  }
  if (!options.ocsp_response_file.empty()) {
    impl->ocsp_response = detail::read_file(options.ocsp_response_file, "OCSP response file");
    const auto* p = reinterpret_cast<const unsigned char*>(impl->ocsp_response.data());
    OCSP_RESPONSE* parsed =
        d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(impl->ocsp_response.size()));
    if (!parsed)
      detail::invalid_config("'" + options.ocsp_response_file + "' is not a DER OCSP response");
    OCSP_RESPONSE_free(parsed);
    SSL_CTX* ctx = impl->sites.front().ctx.get();
    SSL_CTX_set_tlsext_status_cb(ctx, Impl::on_status_request);
    SSL_CTX_set_tlsext_status_arg(ctx, impl.get());
  }
  if (impl->sites.size() > 1 || options.sni_callback) {
    SSL_CTX* ctx = impl->sites.front().ctx.get();
    SSL_CTX_set_tlsext_servername_callback(ctx, Impl::on_server_name);
    SSL_CTX_set_tlsext_servername_arg(ctx, impl.get());
  }
  return std::shared_ptr<const ServerConfig>(new ServerConfig(std::move(impl)));
}

std::shared_ptr<const ServerConfig> ServerConfig::make(Identity identity) {
  ServerOptions options;
  options.identity = std::move(identity);
  return make(options);
}

ssl_ctx_st* ServerConfig::native_handle() const noexcept { return impl_->sites.front().ctx.get(); }

const std::vector<std::string>& ServerConfig::warnings() const noexcept { return impl_->warnings; }

void detail::answer_without_sni(SSL* ssl, const std::string* name) noexcept {
  SSL_set_ex_data(ssl, no_sni_index(), const_cast<std::string*>(name));
}

SSL_CTX* detail::ConfigAccess::context(const ServerConfig& config) noexcept {
  return config.impl_->sites.front().ctx.get();
}

}  // namespace uptls::tls
