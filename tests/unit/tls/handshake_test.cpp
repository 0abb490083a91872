// Configurations meeting in real handshakes: client certificates, SNI,
// protocol limits, revocation, certificates that must be refused.

#include "uptls/tls/config.hpp"

#include <gtest/gtest.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <fstream>
#include <sstream>

#include "support/certs.hpp"
#include "support/handshake.hpp"
#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "uptls/error.hpp"
#include "uptls/stream.hpp"
#include "uptls/tls/authority.hpp"

namespace uptls::tls {
namespace {

using asio::awaitable;
using namespace asio::experimental::awaitable_operators;
using test::handshake;
using test::pki;
using test::run;
using test::TempFile;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A certificate's subject, "none" without one. (A plain function: GCC 12
/// mishandles conditional expressions of class type in coroutines.)
std::string subject_of(const std::optional<CertificateInfo>& certificate) {
  return certificate ? certificate->subject : "none";
}

bool logged(const test::Handshake& h, const std::string& part) {
  for (const auto& line : h.server_log) {
    if (contains(line, part)) return true;
  }
  return false;
}

std::shared_ptr<const ClientConfig> client_trusting(const DevAuthority& authority,
                                                    std::optional<Identity> identity = {}) {
  ClientOptions options;
  options.trust.ca_pem = authority.ca_pem();
  options.identity = std::move(identity);
  options.session_resumption = false;
  return ClientConfig::make(options);
}

ServerOptions server_options(ClientAuth auth) {
  ServerOptions options;
  options.identity = pki().authority.issue({"localhost"});
  options.client_auth = auth;
  options.client_trust.ca_pem = pki().authority.ca_pem();
  return options;
}

TEST(ClientAuth, RequiredCertificateIsSeenByTheHandler) {
  run([]() -> awaitable<void> {
    auto server = ServerConfig::make(server_options(ClientAuth::require));
    auto client = client_trusting(pki().authority, pki().authority.issue({"alice"}));
    auto h = co_await handshake(server, client, "localhost");
    EXPECT_FALSE(h.client_error.code) << h.client_error.message;
    EXPECT_EQ(subject_of(h.client_certificate), "CN=alice");
  });
}

TEST(ClientAuth, MissingCertificateFailsOnBothEndsWithClearErrors) {
  run([]() -> awaitable<void> {
    auto server = ServerConfig::make(server_options(ClientAuth::require));
    auto h = co_await handshake(server, client_trusting(pki().authority), "localhost");
    EXPECT_TRUE(contains(h.client_error.message, "the server requires a client certificate"))
        << h.client_error.message;
    EXPECT_TRUE(logged(h, "the client sent no certificate, and one is required"));
  });
}

TEST(ClientAuth, CertificateFromAnotherCaIsRefused) {
  run([]() -> awaitable<void> {
    auto server = ServerConfig::make(server_options(ClientAuth::require));
    DevAuthority other("other client CA");
    auto client = client_trusting(pki().authority, other.issue({"mallory"}));
    auto h = co_await handshake(server, client, "localhost");
    EXPECT_TRUE(h.client_error.code);
    EXPECT_TRUE(logged(h, "client certificate verify failed: unable to get local issuer"));
  });
}

TEST(ClientAuth, RequestedCertificateIsOptional) {
  run([]() -> awaitable<void> {
    auto server = ServerConfig::make(server_options(ClientAuth::request));
    auto without = co_await handshake(server, client_trusting(pki().authority), "localhost");
    EXPECT_FALSE(without.client_error.code) << without.client_error.message;
    EXPECT_FALSE(without.client_certificate.has_value());
    auto bob = client_trusting(pki().authority, pki().authority.issue({"bob"}));
    auto with = co_await handshake(server, bob, "localhost");
    EXPECT_EQ(subject_of(with.client_certificate), "CN=bob");
  });
}

TEST(ClientAuth, NeedsTheClientCas) {
  ServerOptions options = server_options(ClientAuth::require);
  options.client_trust = Trust();
  try {
    ServerConfig::make(options);
    FAIL() << "client authentication without CAs must not build";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "needs the CAs that issue client certificates")) << e.what();
  }
}

TEST(Sni, ServerPicksTheIdentityByName) {
  run([]() -> awaitable<void> {
    ServerOptions options;
    options.identity = pki().authority.issue({"default.example"});
    options.sni_identities = {pki().authority.issue({"a.example"}),
                              pki().authority.issue({"*.wild.example"})};
    auto server = ServerConfig::make(options);
    auto client = client_trusting(pki().authority);
    auto a = co_await handshake(server, client, "a.example");
    EXPECT_EQ(a.server_certificate->subject, "CN=a.example") << a.client_error.message;
    auto wild = co_await handshake(server, client, "x.wild.example");
    EXPECT_EQ(wild.server_certificate->subject, "CN=*.wild.example") << wild.client_error.message;
    EXPECT_EQ(wild.server_info->server_name, "x.wild.example");
    // RFC 6125: the wildcard stands for one label only.
    auto deep = co_await handshake(server, client, "y.x.wild.example");
    EXPECT_TRUE(contains(deep.client_error.message, "not in certificate names [default.example]"))
        << deep.client_error.message;
  });
}

TEST(Sni, CallbackMintsAnIdentityOnTheFly) {
  run([]() -> awaitable<void> {
    ServerOptions options;
    options.identity = pki().authority.issue({"default.example"});
    int minted = 0;
    options.sni_callback = [&minted](std::string_view name) -> std::optional<Identity> {
      if (name == "refused.example") return std::nullopt;
      ++minted;
      return pki().authority.issue({std::string(name)});
    };
    auto server = ServerConfig::make(options);
    auto client = client_trusting(pki().authority);
    auto first = co_await handshake(server, client, "minted.example");
    EXPECT_EQ(first.server_certificate->subject, "CN=minted.example") << first.client_error.message;
    auto again = co_await handshake(server, client, "MINTED.example");
    EXPECT_FALSE(again.client_error.code) << again.client_error.message;
    EXPECT_EQ(minted, 1) << "made once per name, then kept";
    auto refused = co_await handshake(server, client, "refused.example");
    // No identity for that name: the default one is served, and does not match.
    EXPECT_TRUE(
        contains(refused.client_error.message, "not in certificate names [default.example]"))
        << refused.client_error.message;
  });
}

TEST(Sni, EveryIdentityMadeIsUnderOneBound) {
  run([]() -> awaitable<void> {
    ServerOptions options;
    options.identity = pki().authority.issue({"default.example"});
    options.identities_kept = 2;
    std::vector<std::string> minted;
    options.sni_callback = [&minted](std::string_view name) -> std::optional<Identity> {
      minted.emplace_back(name);
      return pki().authority.issue({std::string(name)});
    };
    auto server = ServerConfig::make(options);
    auto client = client_trusting(pki().authority);
    for (std::string name : {"a.example", "b.example", "c.example", "c.example", "a.example"}) {
      auto h = co_await handshake(server, client, name);
      EXPECT_EQ(subject_of(h.server_certificate), "CN=" + name) << h.client_error.message;
    }
    // c was kept; a was the least recently used when c came, so it was dropped.
    EXPECT_EQ(minted,
              (std::vector<std::string>{"a.example", "b.example", "c.example", "a.example"}));
  });
}

/// What a client that sends no SNI (it connects to 127.0.0.1) is answered
/// with by a server upgraded with start_tls(config, name_without_sni).
struct Unnamed {
  Unnamed() = default;
  std::string subject;  // of the certificate the client accepted
  test::Caught client_error;
  std::string server_name;  // as the server saw it
};

awaitable<Unnamed> answer_unnamed(std::shared_ptr<const ServerConfig> config,
                                  std::string name_without_sni) {
  auto pair = test::memory_pair(co_await asio::this_coro::executor);
  Stream server(std::move(pair.server), config);
  ClientOptions client_options;
  client_options.trust.ca_pem = pki().authority.ca_pem();
  Stream client(std::move(pair.client), ClientConfig::make(client_options), "127.0.0.1");
  auto [served, connected] =
      co_await (test::caught(server.start_tls(config, std::move(name_without_sni))) &&
                test::caught(client.start_tls()));
  Unnamed result;
  result.client_error = connected;
  result.subject = subject_of(client.peer_certificate());
  if (auto info = server.tls_info()) result.server_name = info->server_name;
  co_return result;
}

TEST(Sni, AClientWithoutSniIsAnsweredForTheNameTheServerWasGiven) {
  run([]() -> awaitable<void> {
    ServerOptions options;
    options.identity = pki().authority.issue({"default.example"});
    options.sni_identities = {pki().authority.issue({"site.example"})};
    std::vector<std::string> minted;
    options.sni_callback = [&minted](std::string_view name) -> std::optional<Identity> {
      minted.emplace_back(name);
      return pki().authority.issue({std::string(name)});
    };
    auto config = ServerConfig::make(options);

    auto given = co_await answer_unnamed(config, "127.0.0.1");
    EXPECT_FALSE(given.client_error.code) << given.client_error.message;
    EXPECT_EQ(given.subject, "CN=127.0.0.1");
    EXPECT_EQ(given.server_name, "") << "the client sent no SNI";
    EXPECT_EQ(minted, std::vector<std::string>{"127.0.0.1"});

    // A configured identity is chosen for the name as SNI would choose it.
    // (Its names do not include 127.0.0.1: the client refuses it, naming them.)
    auto site = co_await answer_unnamed(config, "site.example");
    EXPECT_TRUE(contains(site.client_error.message, "not in certificate names [site.example]"))
        << site.client_error.message;

    auto none = co_await answer_unnamed(config, "");
    EXPECT_TRUE(contains(none.client_error.message, "not in certificate names [default.example]"))
        << none.client_error.message;
    EXPECT_EQ(minted.size(), 1u) << "no name: the default identity, nothing minted";
  });
}

TEST(Protocol, NoVersionInCommon) {
  run([]() -> awaitable<void> {
    ServerOptions options = server_options(ClientAuth::none);
    options.protocol.min_version = Version::tls1_3;
    ClientOptions client;
    client.trust.ca_pem = pki().authority.ca_pem();
    client.protocol.max_version = Version::tls1_2;
    auto h =
        co_await handshake(ServerConfig::make(options), ClientConfig::make(client), "localhost");
    EXPECT_TRUE(contains(h.client_error.message, "no TLS version in common"))
        << h.client_error.message;
  });
}

TEST(Protocol, Tls12CipherAndGroupChoices) {
  run([]() -> awaitable<void> {
    ServerOptions options = server_options(ClientAuth::none);
    options.protocol.tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    options.protocol.groups = "P-256";
    ClientOptions client;
    client.trust.ca_pem = pki().authority.ca_pem();
    client.protocol.max_version = Version::tls1_2;
    auto h =
        co_await handshake(ServerConfig::make(options), ClientConfig::make(client), "localhost");
    EXPECT_FALSE(h.client_error.code) << h.client_error.message;
    EXPECT_EQ(h.client_info->version, "TLSv1.2");
    EXPECT_EQ(h.client_info->cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");

    client.protocol.groups = "X25519";
    auto mismatch =
        co_await handshake(ServerConfig::make(options), ClientConfig::make(client), "localhost");
    EXPECT_TRUE(contains(mismatch.client_error.message, "in common"))
        << mismatch.client_error.message;
  });
}

TEST(Protocol, BadChoicesFailWhenBuilt) {
  ClientOptions client;
  client.trust.ca_pem = pki().authority.ca_pem();
  client.protocol.tls12_ciphers = "NO-SUCH-CIPHER";
  EXPECT_THROW(ClientConfig::make(client), Error);
  client.protocol.tls12_ciphers.clear();
  client.protocol.groups = "P-999";
  EXPECT_THROW(ClientConfig::make(client), Error);
}

TEST(Protocol, WeakDhParametersAreRefused) {
  // RFC 3526's 1536-bit MODP group, written out by OpenSSL.
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr);
  EVP_PKEY_paramgen_init(ctx);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string("group", const_cast<char*>("modp_1536"), 0),
      OSSL_PARAM_construct_end()};
  EVP_PKEY_CTX_set_params(ctx, params);
  EVP_PKEY* dh = nullptr;
  ASSERT_EQ(EVP_PKEY_paramgen(ctx, &dh), 1);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_Parameters(bio, dh);
  TempFile file(test::bio_bytes(bio));
  BIO_free(bio);
  EVP_PKEY_free(dh);
  EVP_PKEY_CTX_free(ctx);

  ServerOptions options = server_options(ClientAuth::none);
  options.dh_params_file = file.name();
  try {
    ServerConfig::make(options);
    FAIL() << "1536-bit DH parameters must be refused";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "have 1536 bits: 2048 or more are needed")) << e.what();
  }
}

TEST(KeyLog, SecretsAreWrittenForWireshark) {
  run([]() -> awaitable<void> {
    TempFile log("");
    ClientOptions client;
    client.trust.ca_pem = pki().authority.ca_pem();
    client.protocol.key_log_file = log.name();
    auto h = co_await handshake(pki().server, ClientConfig::make(client), "localhost");
    EXPECT_FALSE(h.client_error.code) << h.client_error.message;
    std::ifstream in(log.path);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_TRUE(contains(text.str(), "CLIENT_HANDSHAKE_TRAFFIC_SECRET "));
    EXPECT_TRUE(contains(text.str(), "CLIENT_TRAFFIC_SECRET_0 "));
  });
}

TEST(KeyLog, APlantedSymlinkIsRefusedAndTheFileIsMadePrivate) {
  TempFile target("");
  auto link = target.path;
  link += ".link";
  std::filesystem::create_symlink(target.path, link);
  ClientOptions client;
  client.trust.ca_pem = pki().authority.ca_pem();
  client.protocol.key_log_file = link.string();
  try {
    ClientConfig::make(client);
    ADD_FAILURE() << "a key log file that is a symlink must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::invalid_config));
    EXPECT_TRUE(contains(e.what(), "it is a symlink")) << e.what();
  }
  std::filesystem::remove(link);

  std::filesystem::permissions(
      target.path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                       std::filesystem::perms::group_read | std::filesystem::perms::others_read);
  client.protocol.key_log_file = target.name();
  ClientConfig::make(client);
  EXPECT_EQ(std::filesystem::status(target.path).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

/// A server configuration that serves identity without the checks made when
/// building one: through native_handle, to test what clients refuse.
std::shared_ptr<const ServerConfig> serving_anyway(const Identity& identity) {
  auto config = ServerConfig::make(pki().authority.issue({"placeholder"}));
  auto* ctx = static_cast<SSL_CTX*>(config->native_handle());
  X509* cert = test::first_cert(identity.chain_pem);
  EVP_PKEY* key = test::key_of(identity.key_pem);
  SSL_CTX_use_certificate(ctx, cert);
  SSL_CTX_use_PrivateKey(ctx, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return config;
}

struct BadCertificate {
  std::string what;
  Identity identity;
  std::string name;
  std::string expected;
};

std::vector<BadCertificate> bad_certificates() {
  IssueOptions expired;
  expired.valid_from = -std::chrono::hours(48);
  expired.valid_until = -std::chrono::hours(24);
  IssueOptions future;
  future.valid_from = std::chrono::hours(24);
  IssueOptions email_only;
  email_only.server_auth = false;
  email_only.client_auth = false;
  return {
      {"expired", pki().authority.issue({"localhost"}, expired), "localhost",
       "certificate has expired (certificate 'CN=localhost'"},
      {"not yet valid", pki().authority.issue({"localhost"}, future), "localhost",
       "certificate is not yet valid"},
      {"wrong key usage", pki().authority.issue({"localhost"}, email_only), "localhost",
       "unsuitable certificate purpose"},
      {"wildcard misuse", pki().authority.issue({"*.example"}), "a.b.example",
       "hostname 'a.b.example' not in certificate names [*.example]"},
      {"untrusted", DevAuthority("stranger CA").issue({"localhost"}), "localhost",
       "unable to get local issuer certificate"},
  };
}

TEST(Verification, EachBadCertificateHasItsOwnError) {
  run([]() -> awaitable<void> {
    auto client = client_trusting(pki().authority);
    std::vector<BadCertificate> cases = bad_certificates();
    for (const auto& c : cases) {
      auto h = co_await handshake(serving_anyway(c.identity), client, c.name);
      EXPECT_EQ(h.client_error.code.category(), verify_category()) << c.what;
      EXPECT_TRUE(contains(h.client_error.message, c.expected))
          << c.what << ": " << h.client_error.message;
      EXPECT_TRUE(logged(h, "the peer rejected our certificate"))
          << c.what << ": " << (h.server_log.empty() ? "no log" : h.server_log.front());
    }
  });
}

TEST(Verification, RevokedByCrl) {
  run([]() -> awaitable<void> {
    DevAuthority authority("revoking CA");
    Identity good = authority.issue({"localhost"});
    Identity revoked = authority.issue({"localhost"});
    authority.revoke(revoked);
    TempFile crl(authority.crl_pem());
    ClientOptions options;
    options.trust.ca_pem = authority.ca_pem();
    options.trust.crl_files.push_back(crl.name());
    options.session_resumption = false;
    auto client = ClientConfig::make(options);
    auto refused = co_await handshake(ServerConfig::make(revoked), client, "localhost");
    EXPECT_TRUE(contains(refused.client_error.message, "certificate revoked"))
        << refused.client_error.message;
    auto accepted = co_await handshake(ServerConfig::make(good), client, "localhost");
    EXPECT_FALSE(accepted.client_error.code) << accepted.client_error.message;

    // Checking the whole chain needs a CRL from every CA in it.
    DevAuthority intermediate = authority.intermediate("revoking intermediate");
    options.trust.crl_check = CrlCheck::chain;
    auto chained = ServerConfig::make(intermediate.issue({"localhost"}));
    auto strict = co_await handshake(chained, ClientConfig::make(options), "localhost");
    EXPECT_TRUE(contains(strict.client_error.message, "unable to get certificate CRL"))
        << strict.client_error.message;
  });
}

TEST(Verification, IntermediateChainIsServedAndVerified) {
  run([]() -> awaitable<void> {
    DevAuthority intermediate = pki().authority.intermediate("serving intermediate");
    auto server = ServerConfig::make(intermediate.issue({"localhost"}));
    auto h = co_await handshake(server, client_trusting(pki().authority), "localhost");
    EXPECT_FALSE(h.client_error.code) << h.client_error.message;
    EXPECT_EQ(h.server_certificate->issuer, "CN=serving intermediate");
  });
}

TEST(Ocsp, StapledStatusIsReportedToClientsThatAsk) {
  run([]() -> awaitable<void> {
    DevAuthority authority("OCSP CA");
    Identity identity = authority.issue({"localhost"});
    TempFile good(authority.ocsp_response(identity));
    ServerOptions server;
    server.identity = identity;
    server.ocsp_response_file = good.name();
    ClientOptions client;
    client.trust.ca_pem = authority.ca_pem();
    client.request_ocsp = true;
    client.session_resumption = false;
    auto asking = ClientConfig::make(client);

    auto stapled = co_await handshake(ServerConfig::make(server), asking, "localhost");
    EXPECT_EQ(stapled.client_info->ocsp_status, "good") << stapled.client_error.message;

    authority.revoke(identity);
    TempFile revoked(authority.ocsp_response(identity));
    server.ocsp_response_file = revoked.name();
    auto bad = co_await handshake(ServerConfig::make(server), asking, "localhost");
    EXPECT_EQ(bad.client_info->ocsp_status, "revoked");

    server.ocsp_response_file.clear();
    auto nothing = co_await handshake(ServerConfig::make(server), asking, "localhost");
    EXPECT_EQ(nothing.client_info->ocsp_status, "none");

    client.request_ocsp = false;
    server.ocsp_response_file = good.name();
    auto not_asked =
        co_await handshake(ServerConfig::make(server), ClientConfig::make(client), "localhost");
    EXPECT_EQ(not_asked.client_info->ocsp_status, "");
  });
}

TEST(Ocsp, ResponseFileMustBeAnOcspResponse) {
  TempFile garbage("not DER");
  ServerOptions server;
  server.identity = pki().authority.issue({"localhost"});
  server.ocsp_response_file = garbage.name();
  EXPECT_THROW(ServerConfig::make(server), Error);
}

}  // namespace
}  // namespace uptls::tls

namespace uptls::tls {
namespace {

/// The TLS 1.2 cipher names of a configuration's context.
std::vector<std::string> tls12_cipher_names(void* native_ctx) {
  std::vector<std::string> names;
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(static_cast<SSL_CTX*>(native_ctx));
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    if (SSL_CIPHER_get_kx_nid(cipher) != NID_kx_any) names.push_back(SSL_CIPHER_get_name(cipher));
  }
  return names;
}

// Issue 7: TLS 1.2 is ECDHE with AEAD only by default, in both roles; DHE
// only with DH parameters; no CBC (Lucky13), no static RSA key exchange.
TEST(Defaults, Tls12IsForwardSecretAndAeadOnly) {
  auto server = pki().server;
  auto client = ClientConfig::make();
  for (void* ctx : {server->native_handle(), client->native_handle()}) {
    auto names = tls12_cipher_names(ctx);
    EXPECT_FALSE(names.empty());
    for (const auto& name : names) {
      EXPECT_EQ(name.rfind("ECDHE-", 0), 0u) << name << " is not ECDHE";
      EXPECT_TRUE(contains(name, "GCM") || contains(name, "CHACHA20")) << name << " is not AEAD";
    }
  }
  EXPECT_TRUE(server->warnings().empty());
  EXPECT_TRUE(client->warnings().empty());
}

TEST(Defaults, ACbcOnlyClientIsRefused) {
  run([]() -> awaitable<void> {
    ClientOptions client;
    client.trust.ca_pem = pki().authority.ca_pem();
    client.protocol.max_version = Version::tls1_2;
    client.protocol.tls12_ciphers = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA";
    auto config = ClientConfig::make(client);
    EXPECT_EQ(config->warnings().size(), 1u) << "the client was told its choice is weak";
    auto h = co_await handshake(pki().server, config, "localhost");
    EXPECT_TRUE(contains(h.client_error.message, "no cipher suite or key-exchange group in common"))
        << h.client_error.message;
  });
}

// Issue 7 (found by hand beside the scanners): OpenSSL 3.0 accepts SHA-224
// signatures in TLS 1.2 by default; uptls takes SHA-256 or stronger only.
TEST(Defaults, Sha224SignaturesAreRefused) {
  run([]() -> awaitable<void> {
    ClientOptions client;
    client.trust.ca_pem = pki().authority.ca_pem();
    client.protocol.max_version = Version::tls1_2;
    client.protocol.signature_algorithms = "ECDSA+SHA224:RSA+SHA224";
    auto refused = co_await handshake(pki().server, ClientConfig::make(client), "localhost");
    EXPECT_TRUE(refused.client_error.code) << "a SHA-224-only client gets no handshake";
    client.protocol.signature_algorithms = "ECDSA+SHA256";
    auto accepted = co_await handshake(pki().server, ClientConfig::make(client), "localhost");
    EXPECT_FALSE(accepted.client_error.code) << accepted.client_error.message;
  });
}

TEST(Defaults, WeakerChoicesStayPossibleWithAWarning) {
  ServerOptions options = server_options(ClientAuth::none);
  options.protocol.tls12_ciphers = "AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA";
  auto server = ServerConfig::make(options);
  ASSERT_EQ(server->warnings().size(), 2u);
  EXPECT_TRUE(contains(server->warnings()[0], "without forward secrecy"));
  EXPECT_TRUE(contains(server->warnings()[0], "AES128-GCM-SHA256"));
  EXPECT_TRUE(contains(server->warnings()[1], "without AEAD"));
  EXPECT_TRUE(contains(server->warnings()[1], "ECDHE-ECDSA-AES128-SHA"));
  options.protocol.min_version = Version::tls1_3;
  EXPECT_TRUE(ServerConfig::make(options)->warnings().empty()) << "TLS 1.2 is off: nothing weak";
}

/// A self-signed certificate for CN=localhost with no subjectAltName.
Identity cn_only_identity() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key);
  X509_sign(cert, key, EVP_sha256());
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, cert);
  std::string cert_pem = test::bio_bytes(out);
  BIO_free(out);
  out = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::string key_pem = test::bio_bytes(out);
  BIO_free(out);
  X509_free(cert);
  EVP_PKEY_free(key);
  return Identity::from_pem(cert_pem, key_pem);
}

// Issue 7 / RFC 9525 §6.3: the subject's CN is never taken as a name.
TEST(Verification, ACertificateWithOnlyACommonNameIsRefused) {
  run([]() -> awaitable<void> {
    Identity identity = cn_only_identity();
    ClientOptions client;
    client.trust.ca_pem = identity.chain_pem;  // trusted as it is: only the name can fail
    auto h =
        co_await handshake(ServerConfig::make(identity), ClientConfig::make(client), "localhost");
    EXPECT_TRUE(
        contains(h.client_error.message, "hostname 'localhost' not in certificate names []"))
        << h.client_error.message;
  });
}

// Issue 8 (uptls inspect): what a session reports beyond its cipher.
TEST(Inspection, SessionReportsGroupSignatureChainAndVerdict) {
  run([]() -> awaitable<void> {
    auto seen = co_await handshake(pki().server, client_trusting(pki().authority), "localhost");
    EXPECT_FALSE(seen.client_error.code) << seen.client_error.message;
    EXPECT_EQ(seen.client_info->cipher_version, "TLSv1.3");
    EXPECT_EQ(seen.client_info->group, "x25519");
    EXPECT_EQ(seen.client_info->peer_signature, "ECDSA+SHA256");
    EXPECT_EQ(seen.client_info->compression, "none");
    EXPECT_EQ(seen.server_chain.size(), 1u) << "the server's configured chain: its leaf";
    for (const auto& certificate : seen.server_chain) {
      EXPECT_EQ(certificate.subject, "CN=localhost");
    }
    EXPECT_TRUE(seen.client_verdict->checked && seen.client_verdict->ok &&
                seen.client_verdict->name_matches);
    EXPECT_EQ(seen.client_verdict->message, "verified for localhost");
  });
}

TEST(Inspection, ContinuingUnverifiedReportsTheVerdictInstead) {
  run([]() -> awaitable<void> {
    ClientOptions options;
    options.trust.ca_pem = DevAuthority("unrelated CA").ca_pem();
    options.verification = PeerVerification::dangerous_report_only;
    auto config = ClientConfig::make(options);
    auto stats = config->trust_store_stats();
    EXPECT_EQ(stats.x509, 1u);
    EXPECT_EQ(stats.x509_ca, 1u);
    EXPECT_EQ(stats.crl, 0u);
    auto seen = co_await handshake(pki().server, config, "localhost");
    EXPECT_FALSE(seen.client_error.code)
        << "the handshake completed: " << seen.client_error.message;
    EXPECT_TRUE(seen.client_verdict->checked);
    EXPECT_FALSE(seen.client_verdict->ok);
    EXPECT_TRUE(seen.client_verdict->name_matches) << "the name is checked on its own";
    EXPECT_TRUE(contains(seen.client_verdict->message, "unable to get local issuer certificate"))
        << seen.client_verdict->message;
    auto misnamed = co_await handshake(pki().server, config, "other.example");
    EXPECT_FALSE(misnamed.client_verdict->name_matches);
  });
}

}  // namespace
}  // namespace uptls::tls
