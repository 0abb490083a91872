#include "uptls/tls/authority.hpp"

#include <gtest/gtest.h>

#include "uptls/error.hpp"
#include "uptls/tls/config.hpp"
#include "uptls/tls/session_info.hpp"

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

TEST(DevAuthority, EachNameIsOneEntryAndNoTextAddsAnother) {
  DevAuthority authority;
  Identity identity = authority.issue({"*.example.org", "host_1.example.org", "10.0.0.1"});
  auto info = read_certificates(identity.chain_pem).front();
  EXPECT_EQ(info.dns_names, (std::vector<std::string>{"*.example.org", "host_1.example.org"}));
  EXPECT_EQ(info.ip_addresses, (std::vector<std::string>{"10.0.0.1"}));
  // What an SNI could carry to an intercepting proxy: configuration text.
  for (const std::string& name : std::vector<std::string>{
           "x.test,IP:10.1.2.3", "x.test, DNS:other.test", "a b.test", "x..test", "",
           std::string("x\0.test", 7), "fe80::1%eth0", std::string(64, 'a') + ".test"}) {
    try {
      authority.issue({name});
      ADD_FAILURE() << "issued for '" << name << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), errc::invalid_argument) << e.what();
    }
  }
}

}  // namespace
}  // namespace uptls::tls
