#include "uptls/tls/verify.hpp"

#include <gtest/gtest.h>

#include "support/support.hpp"
#include "uptls/error.hpp"
#include "uptls/tls/authority.hpp"

namespace uptls::tls {
namespace {

using test::pki;

VerifyOptions trusting_test_ca(std::string name) {
  VerifyOptions options;
  options.trust.ca_pem = pki().authority.ca_pem();
  options.name = std::move(name);
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Issue 8 (uptls cert verify): the handshake's verdicts and words, offline.
TEST(VerifyChain, AGoodChainIsVerifiedForItsName) {
  Identity identity = pki().authority.issue({"localhost", "127.0.0.1"});
  auto verdict = verify_chain(identity.chain_pem, trusting_test_ca("localhost"));
  EXPECT_TRUE(verdict.ok) << verdict.message;
  EXPECT_TRUE(verdict.name_matches);
  EXPECT_EQ(verdict.message, "verified for localhost");
  EXPECT_TRUE(verify_chain(identity.chain_pem, trusting_test_ca("127.0.0.1")).ok);
}

TEST(VerifyChain, EachFailureHasTheHandshakesMessage) {
  Identity identity = pki().authority.issue({"localhost"});
  auto wrong_name = verify_chain(identity.chain_pem, trusting_test_ca("other.example"));
  EXPECT_FALSE(wrong_name.ok);
  EXPECT_FALSE(wrong_name.name_matches);
  EXPECT_EQ(wrong_name.message,
            "certificate verify failed: hostname 'other.example' not in certificate names "
            "[localhost]");

  VerifyOptions untrusted;
  untrusted.trust.ca_pem = DevAuthority("stranger CA").ca_pem();
  auto stranger = verify_chain(identity.chain_pem, untrusted);
  EXPECT_TRUE(contains(stranger.message, "unable to get local issuer certificate"))
      << stranger.message;

  auto later = trusting_test_ca("localhost");
  later.at = std::chrono::system_clock::now() + std::chrono::hours(24 * 60);
  auto expired = verify_chain(identity.chain_pem, later);
  EXPECT_TRUE(contains(expired.message, "certificate has expired (certificate 'CN=localhost'"))
      << expired.message;

  IssueOptions server_only;
  server_only.client_auth = false;
  auto as_client = trusting_test_ca("");
  as_client.purpose = Purpose::client;
  auto purpose = verify_chain(pki().authority.issue({"alice"}, server_only).chain_pem, as_client);
  EXPECT_TRUE(contains(purpose.message,
                       "client certificate verify failed: unsuitable "
                       "certificate purpose"))
      << purpose.message;
}

TEST(VerifyChain, IntermediatesComeFromTheChain) {
  DevAuthority intermediate = pki().authority.intermediate("test intermediate");
  Identity identity = intermediate.issue({"localhost"});
  EXPECT_TRUE(verify_chain(identity.chain_pem, trusting_test_ca("localhost")).ok);
  auto leaf_only =
      identity.chain_pem.substr(0, identity.chain_pem.find("-----END CERTIFICATE-----") + 26);
  EXPECT_FALSE(verify_chain(leaf_only, trusting_test_ca("localhost")).ok)
      << "without its intermediate the leaf cannot be verified";
}

TEST(VerifyChain, NoCertificateIsAnError) {
  EXPECT_THROW(verify_chain("not a certificate", trusting_test_ca("localhost")), uptls::Error);
}

}  // namespace
}  // namespace uptls::tls
