#include "uptls/version.hpp"

#include <gtest/gtest.h>

#include <string>

namespace uptls {
namespace {

TEST(Version, LibraryMatchesTheHeadersItWasBuiltWith) {
  EXPECT_EQ(version(), UPTLS_VERSION_STRING);
  EXPECT_EQ(std::string(UPTLS_VERSION_STRING), std::to_string(UPTLS_VERSION_MAJOR) + "." +
                                                   std::to_string(UPTLS_VERSION_MINOR) + "." +
                                                   std::to_string(UPTLS_VERSION_PATCH));
}

TEST(Version, NamesTheOpenSslItRunsWith) {
  EXPECT_EQ(tls::openssl_version().substr(0, 10), "OpenSSL 3.");
}

}  // namespace
}  // namespace uptls
