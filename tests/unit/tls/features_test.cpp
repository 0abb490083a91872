#include "uptls/tls/features.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace uptls::tls {
namespace {

const Feature* find(const std::vector<Feature>& list, const std::string& name) {
  auto it =
      std::find_if(list.begin(), list.end(), [&](const Feature& f) { return f.name == name; });
  return it == list.end() ? nullptr : &*it;
}

TEST(Features, VersionsOnByDefaultAreTls12And13Only) {
  Features f = features();
  EXPECT_NE(f.library.find("OpenSSL"), std::string::npos);
  for (const auto& version : f.versions) {
    bool modern = version.name == "TLSv1.2" || version.name == "TLSv1.3";
    EXPECT_EQ(version.on_by_default, modern) << version.name;
    if (modern) {
      EXPECT_TRUE(version.available) << version.name;
    }
  }
}

TEST(Features, DefaultCiphersAreForwardSecretAead) {
  Features f = features();
  int on = 0;
  for (const auto& cipher : f.tls12_ciphers) {
    if (!cipher.on_by_default) continue;
    ++on;
    EXPECT_EQ(cipher.name.rfind("ECDHE-", 0), 0u) << cipher.name;
    bool aead = cipher.name.find("GCM") != std::string::npos ||
                cipher.name.find("CHACHA20-POLY1305") != std::string::npos;
    EXPECT_TRUE(aead) << cipher.name;
  }
  EXPECT_GE(on, 2);
  EXPECT_GT(f.tls12_ciphers.size(), static_cast<std::size_t>(on)) << "weaker ones are listed off";
  const Feature* suite = find(f.tls13_ciphersuites, "TLS_AES_128_GCM_SHA256");
  ASSERT_NE(suite, nullptr);
  EXPECT_TRUE(suite->on_by_default);
}

TEST(Features, GroupsSignaturesAndOptionsMatchTheSafeDefaults) {
  Features f = features();
  const Feature* x25519 = find(f.groups, "X25519");
  ASSERT_NE(x25519, nullptr);
  EXPECT_TRUE(x25519->on_by_default);
  const Feature* ffdhe = find(f.groups, "ffdhe2048");
  ASSERT_NE(ffdhe, nullptr);
  EXPECT_FALSE(ffdhe->on_by_default) << "DHE only with parameters given";
  const Feature* sha224 = find(f.signature_algorithms, "ECDSA+SHA224");
  ASSERT_NE(sha224, nullptr);
  EXPECT_TRUE(sha224->available);
  EXPECT_FALSE(sha224->on_by_default);
  const Feature* compression = find(f.options, "no_compression");
  ASSERT_NE(compression, nullptr);
  EXPECT_TRUE(compression->on_by_default);
  const Feature* npn = find(f.extensions, "NPN");
  ASSERT_NE(npn, nullptr);
  EXPECT_FALSE(npn->on_by_default);
}

}  // namespace
}  // namespace uptls::tls
