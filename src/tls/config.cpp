#include "uptls/tls/config.hpp"

#include <openssl/pem.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "tls/openssl.hpp"
#include "tls/session_cache.hpp"

namespace uptls::tls {

struct ClientConfig::Impl {
  // Declared before ctx, so it outlives the context that points at it.
  std::unique_ptr<detail::SessionCache> cache;
  detail::SslCtxPtr ctx;
  bool verify = true;
};

struct ServerConfig::Impl {
  detail::SslCtxPtr ctx;
  std::vector<std::string> alpn;  // read by the ALPN callback for the whole life of ctx
};

namespace {

using detail::config_error;
using detail::SslCtxPtr;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(make_error_code(errc::invalid_config), message);
}

int protocol_number(Version v) { return v == Version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

// Settings both roles share: see docs/defaults.md for why each is chosen.
SslCtxPtr new_context(const SSL_METHOD* method, Version min, Version max) {
  if (protocol_number(min) > protocol_number(max)) {
    invalid("minimum TLS version is newer than the maximum");
  }
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) throw config_error("cannot create an OpenSSL context");
  SSL_CTX_set_min_proto_version(ctx.get(), protocol_number(min));
  SSL_CTX_set_max_proto_version(ctx.get(), protocol_number(max));
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Buffers are released while a connection is idle: most of the memory an
  // idle TLS connection would otherwise hold (about 34 KiB each).
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255)
      invalid("ALPN protocol names must be 1 to 255 bytes: '" + p + "'");
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

void add_ca_pem(SSL_CTX* ctx, std::string_view pem, std::string_view what) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (auto& cert : detail::parse_certificates(pem, what)) {
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      throw config_error("cannot add a CA certificate from " + std::string(what));
    }
  }
}

void use_system_trust(SSL_CTX* ctx) {
  const char* file_env = std::getenv(X509_get_default_cert_file_env());
  const char* dir_env = std::getenv(X509_get_default_cert_dir_env());
  const char* file = file_env ? file_env : X509_get_default_cert_file();
  const char* dir = dir_env ? dir_env : X509_get_default_cert_dir();
  std::error_code ignored;
  if (!std::filesystem::exists(file, ignored) && !std::filesystem::is_directory(dir, ignored)) {
    invalid(std::string("no system trust store: neither ") + file + " nor " + dir +
            " exists; install it (apt-get install ca-certificates) or give a CA file");
  }
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    throw config_error("cannot load the system trust store");
  }
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

}  // namespace

ClientConfig::ClientConfig(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientConfig::~ClientConfig() = default;

std::shared_ptr<const ClientConfig> ClientConfig::make(const ClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->ctx = new_context(TLS_client_method(), options.min_version, options.max_version);
  SSL_CTX* ctx = impl->ctx.get();
  impl->verify = !options.dangerous_skip_verification;
  SSL_CTX_set_verify(ctx, impl->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);

  for (const auto& file : options.ca_files) {
    add_ca_pem(ctx, detail::read_file(file, "CA file"), "CA file '" + file + "'");
  }
  if (!options.ca_pem.empty()) add_ca_pem(ctx, options.ca_pem, "the CA PEM text");
  if (options.ca_files.empty() && options.ca_pem.empty() && impl->verify) use_system_trust(ctx);

  if (!options.alpn.empty()) {
    std::string wire = alpn_wire(options.alpn);
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
      throw config_error("cannot set the ALPN protocols");
    }
  }
  if (options.session_resumption && options.session_cache_size > 0) {
    impl->cache = std::make_unique<detail::SessionCache>(options.session_cache_size);
    detail::SessionCache::attach(ctx, impl->cache.get());
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  return std::shared_ptr<const ClientConfig>(new ClientConfig(std::move(impl)));
}

bool ClientConfig::verifies_peer() const noexcept { return impl_->verify; }

void* ClientConfig::native_handle() const noexcept { return impl_->ctx.get(); }

ServerConfig::ServerConfig(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerConfig::~ServerConfig() = default;

std::shared_ptr<const ServerConfig> ServerConfig::make(const ServerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->ctx = new_context(TLS_server_method(), options.min_version, options.max_version);
  SSL_CTX* ctx = impl->ctx.get();
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  static constexpr unsigned char session_context[] = "uptls";
  SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);
  SSL_CTX_set_dh_auto(ctx, 1);
  // Serve exactly the chain that was configured, instead of building one
  // from the trust store on every handshake.
  SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);

  auto chain = detail::parse_certificates(options.identity.chain_pem, "the certificate chain");
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1) {
    throw config_error("cannot use the server certificate");
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      throw config_error("cannot add an intermediate certificate");
    }
  }

  const std::string& key_pem = options.identity.key_pem;
  detail::BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  detail::PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw config_error("no usable PEM private key found");
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    invalid("the private key does not match the certificate '" +
            detail::describe(chain.front().get()).subject + "'");
  }

  impl->alpn = options.alpn;
  alpn_wire(impl->alpn);  // validates the names
  if (!impl->alpn.empty()) SSL_CTX_set_alpn_select_cb(ctx, select_alpn, &impl->alpn);
  return std::shared_ptr<const ServerConfig>(new ServerConfig(std::move(impl)));
}

std::shared_ptr<const ServerConfig> ServerConfig::make(Identity identity) {
  ServerOptions options;
  options.identity = std::move(identity);
  return make(options);
}

void* ServerConfig::native_handle() const noexcept { return impl_->ctx.get(); }

namespace {

std::string pem_blocks(const std::string& text, bool keys) {
  // Splits a combined PEM file: private keys in one group, certificates in the other.
  std::string out;
  std::size_t pos = 0;
  while ((pos = text.find("-----BEGIN ", pos)) != std::string::npos) {
    std::size_t label_end = text.find("-----", pos + 11);
    if (label_end == std::string::npos) break;
    std::string label = text.substr(pos + 11, label_end - pos - 11);
    std::string end_marker = "-----END " + label + "-----";
    std::size_t end = text.find(end_marker, label_end);
    if (end == std::string::npos) break;
    end += end_marker.size();
    bool is_key = label.find("PRIVATE KEY") != std::string::npos;
    if (is_key == keys) out += text.substr(pos, end - pos) + "\n";
    pos = end;
  }
  return out;
}

}  // namespace

Identity Identity::from_files(const std::string& chain_path, const std::string& key_path) {
  return {detail::read_file(chain_path, "certificate file"),
          detail::read_file(key_path, "private key file")};
}

Identity Identity::from_pem_file(const std::string& path) {
  std::string text = detail::read_file(path, "PEM file");
  Identity identity{pem_blocks(text, false), pem_blocks(text, true)};
  if (identity.key_pem.empty()) {
    invalid("PEM file '" + path + "' holds no private key");
  }
  return identity;
}

}  // namespace uptls::tls
