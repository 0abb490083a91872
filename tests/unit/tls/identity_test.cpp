#include "uptls/tls/identity.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "support/certs.hpp"
#include "support/support.hpp"
#include "uptls/error.hpp"
#include "uptls/tls/authority.hpp"
#include "uptls/tls/config.hpp"
#include "uptls/tls/session_info.hpp"

namespace uptls::tls {
namespace {

using test::TempFile;

/// The message of the Error that load throws, or "" if it does not throw.
std::string error_of(const std::function<void()>& load) {
  try {
    load();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), errc::invalid_config) << e.what();
    return e.what();
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const Identity& leaf() {
  static const Identity identity = test::pki().authority.issue({"localhost"});
  return identity;
}

TEST(Identity, DerCertificateAndKeyFiles) {
  TempFile cert(test::der_certificate(leaf()));
  TempFile key(test::der_key(leaf()));
  Identity loaded = Identity::from_files(cert.name(), key.name());
  EXPECT_EQ(read_certificates(loaded.chain_pem).front().subject, "CN=localhost");
  EXPECT_NO_THROW(ServerConfig::make(loaded));
}

TEST(Identity, EncryptedKeyWithPassphraseFromTextEnvironmentAndFile) {
  TempFile cert(leaf().chain_pem);
  TempFile key(test::encrypted_key(leaf(), "s3cret"));
  EXPECT_NO_THROW(Identity::from_files(cert.name(), key.name(), Passphrase::text("s3cret")));

  ::setenv("UPTLS_TEST_PASSPHRASE", "s3cret", 1);
  EXPECT_NO_THROW(Identity::from_files(cert.name(), key.name(),
                                       Passphrase::environment("UPTLS_TEST_PASSPHRASE")));
  ::unsetenv("UPTLS_TEST_PASSPHRASE");
  EXPECT_TRUE(contains(error_of([&] {
                         Identity::from_files(cert.name(), key.name(),
                                              Passphrase::environment("UPTLS_TEST_PASSPHRASE"));
                       }),
                       "UPTLS_TEST_PASSPHRASE is not set"));

  TempFile passphrase_file("s3cret\n");
  EXPECT_NO_THROW(
      Identity::from_files(cert.name(), key.name(), Passphrase::file(passphrase_file.name())));
}

TEST(Identity, EncryptedKeyErrorsSayWhatIsMissing) {
  TempFile cert(leaf().chain_pem);
  TempFile key(test::encrypted_key(leaf(), "s3cret"));
  EXPECT_TRUE(contains(error_of([&] { Identity::from_files(cert.name(), key.name()); }),
                       "is encrypted or unreadable: give its passphrase"));
  EXPECT_TRUE(contains(
      error_of([&] { Identity::from_files(cert.name(), key.name(), Passphrase::text("wrong")); }),
      "wrong passphrase?"));
}

TEST(Identity, Pkcs12WithItsChainInAnyOrder) {
  DevAuthority intermediate = test::pki().authority.intermediate("test intermediate");
  Identity issued = intermediate.issue({"p12.example"});
  Identity with_root = issued;
  with_root.chain_pem += test::pki().authority.ca_pem();
  TempFile p12(test::pkcs12(with_root, "p12pass"));
  Identity loaded = Identity::from_pkcs12_file(p12.name(), Passphrase::text("p12pass"));
  auto chain = read_certificates(loaded.chain_pem);
  ASSERT_EQ(chain.size(), 2u) << "leaf and intermediate; the root is the peer's to have";
  EXPECT_EQ(chain[0].subject, "CN=p12.example");
  EXPECT_EQ(chain[1].subject, "CN=test intermediate");
  EXPECT_TRUE(
      contains(error_of([&] { Identity::from_pkcs12_file(p12.name(), Passphrase::text("nope")); }),
               "wrong passphrase?"));
  EXPECT_TRUE(
      contains(error_of([&] { Identity::from_pkcs12_file(p12.name()); }), "give its passphrase"));
}

TEST(Identity, ChainOutOfOrderIsAnError) {
  DevAuthority intermediate = test::pki().authority.intermediate("test intermediate");
  Identity issued = intermediate.issue({"chain.example"});
  auto certs = read_certificates(issued.chain_pem);
  ASSERT_EQ(certs.size(), 2u);
  std::string reversed = certs[1].pem + certs[0].pem;
  std::string message = error_of([&] { Identity::from_pem(reversed, issued.key_pem); });
  EXPECT_TRUE(contains(message, "does not match")) << "the key belongs to the leaf: " << message;

  DevAuthority other("unrelated CA");
  std::string wrong_issuer = certs[0].pem + read_certificates(other.ca_pem())[0].pem;
  message = error_of([&] { Identity::from_pem(wrong_issuer, issued.key_pem); });
  EXPECT_TRUE(contains(message,
                       "chain is out of order: certificate 2 ('CN=unrelated CA') did "
                       "not issue certificate 1 ('CN=chain.example')"))
      << message;
}

TEST(Identity, ExpiredOrNotYetValidServerCertificateFailsWhenBuilt) {
  IssueOptions expired;
  expired.valid_from = -std::chrono::hours(48);
  expired.valid_until = -std::chrono::hours(24);
  std::string message =
      error_of([&] { ServerConfig::make(test::pki().authority.issue({"old.example"}, expired)); });
  EXPECT_TRUE(contains(message, "'CN=old.example' expired on")) << message;

  IssueOptions future;
  future.valid_from = std::chrono::hours(24);
  message =
      error_of([&] { ServerConfig::make(test::pki().authority.issue({"new.example"}, future)); });
  EXPECT_TRUE(contains(message, "'CN=new.example' is not valid before")) << message;
}

TEST(Identity, CombinedPemFileWithEncryptedKey) {
  TempFile combined(test::encrypted_key(leaf(), "pw") + leaf().chain_pem);
  EXPECT_NO_THROW(Identity::from_pem_file(combined.name(), Passphrase::text("pw")));
}

TEST(CertificateInfo, DescribesKeySignatureAndRole) {
  auto leaf_info = read_certificates(leaf().chain_pem).front();
  EXPECT_EQ(leaf_info.key_type, "EC P-256");
  EXPECT_EQ(leaf_info.key_bits, 256);
  EXPECT_EQ(leaf_info.signature_algorithm, "ecdsa-with-SHA256");
  EXPECT_FALSE(leaf_info.is_ca);
  EXPECT_FALSE(leaf_info.serial.empty());
  auto ca_info = read_certificates(test::pki().authority.ca_pem()).front();
  EXPECT_TRUE(ca_info.is_ca);
  EXPECT_EQ(ca_info.subject, ca_info.issuer);
  auto der_info = read_certificates(test::der_certificate(leaf())).front();
  EXPECT_EQ(der_info.sha256_fingerprint, leaf_info.sha256_fingerprint);
}

TEST(Version, OldVersionsAreRefusedWithTheReason) {
  EXPECT_EQ(parse_version("1.2"), Version::tls1_2);
  EXPECT_EQ(parse_version("TLSv1.3"), Version::tls1_3);
  EXPECT_EQ(parse_version("tls1_3"), Version::tls1_3);
  EXPECT_TRUE(contains(error_of([] { parse_version("1.0"); }), "RFC 8996"));
  EXPECT_TRUE(contains(error_of([] { parse_version("TLSv1.1"); }), "RFC 8996"));
  EXPECT_TRUE(contains(error_of([] { parse_version("SSLv3"); }), "RFC 7568"));
  EXPECT_TRUE(contains(error_of([] { parse_version("banana"); }), "unknown TLS version"));
}

}  // namespace
}  // namespace uptls::tls
