// verify_chain: the handshake's verification, on its own.

#include "uptls/tls/verify.hpp"

#include "tls/certificates.hpp"
#include "tls/config_access.hpp"
#include "tls/errors.hpp"

namespace uptls::tls {

Verification verify_chain(const std::string& chain_pem, const VerifyOptions& options) {
  auto chain = detail::parse_certificates(chain_pem, "the chain");
  // The trust store exactly as a client configuration loads it.
  ClientOptions client;
  client.trust = options.trust;
  auto config = ClientConfig::make(client);
  SSL_CTX* ctx = detail::context_of(*config);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);

  detail::X509StackPtr untrusted(sk_X509_new_null());
  for (std::size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i].get());
  X509* leaf = chain.front().get();
  detail::StoreContextPtr context(X509_STORE_CTX_new());
  if (!context || X509_STORE_CTX_init(context.get(), store, leaf, untrusted.get()) != 1) {
    throw detail::drain_errors("cannot start verifying the chain");
  }
  // As libssl's ssl_verify_cert_chain sets up a handshake's verification:
  // the purpose, the security level of the configuration (Debian's level 2
  // refuses RSA-1024 keys, SHA-1 signatures and P-192), then the
  // configuration's own parameters over the defaults.
  X509_STORE_CTX_set_default(context.get(),
                             options.purpose == Purpose::server ? "ssl_server" : "ssl_client");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context.get());
  X509_VERIFY_PARAM_set_auth_level(param, SSL_CTX_get_security_level(ctx));
  X509_VERIFY_PARAM_set1(param, SSL_CTX_get0_param(ctx));
  if (!options.name.empty()) detail::expect_name(param, options.name);
  if (options.at) {
    X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(*options.at));
  }
  Verification verdict;
  verdict.checked = true;
  verdict.ok = X509_verify_cert(context.get()) == 1;
  verdict.code = verdict.ok ? X509_V_OK : X509_STORE_CTX_get_error(context.get());
  ERR_clear_error();
  verdict.name_matches = detail::name_matches(leaf, options.name);
  verdict.message =
      verdict.ok ? (options.name.empty() ? std::string("verified") : "verified for " + options.name)
                 : detail::verification_message(verdict.code, leaf, options.name,
                                                options.purpose == Purpose::client);
  return verdict;
}

}  // namespace uptls::tls
