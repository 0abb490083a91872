#include "uptls/tls/authority.hpp"

#include <gtest/gtest.h>

#include "uptls/error.hpp"
#include "uptls/tls/config.hpp"

namespace uptls::tls {
namespace {

TEST(DevAuthority, IssuesUsableIdentities) {
  DevAuthority authority("test CA");
  EXPECT_NE(authority.ca_pem().find("BEGIN CERTIFICATE"), std::string::npos);
  Identity identity = authority.issue({"localhost", "127.0.0.1", "::1"});
  EXPECT_NE(identity.chain_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(identity.key_pem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_NO_THROW(ServerConfig::make(identity));
}

TEST(DevAuthority, EveryIdentityHasItsOwnKey) {
  DevAuthority authority;
  EXPECT_NE(authority.issue({"a"}).key_pem, authority.issue({"a"}).key_pem);
  EXPECT_NE(DevAuthority().ca_pem(), authority.ca_pem());
}

TEST(DevAuthority, NamesAreRequired) {
  DevAuthority authority;
  try {
    authority.issue({});
    FAIL() << "issuing without names must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
  }
}

}  // namespace
}  // namespace uptls::tls
