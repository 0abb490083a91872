#include "proxy/target.hpp"

#include <gtest/gtest.h>

// Where a proxy's requests go: what CONNECT targets and absolute-form URLs
// a proxy accepts, and what it refuses before it connects anywhere.

namespace uptls::proxy {
namespace {

TEST(ProxyTarget, ConnectTargetsNeedAHostAndAPort) {
  auto named = parse_authority("example.com:443", 0);
  ASSERT_TRUE(named);
  EXPECT_EQ(named->host, "example.com");
  EXPECT_EQ(named->port, 443);
  auto v6 = parse_authority("[::1]:8443", 0);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->text(), "[::1]:8443");
  EXPECT_FALSE(parse_authority("example.com", 0)) << "CONNECT has no default port";
  EXPECT_FALSE(parse_authority("example.com:", 0));
  EXPECT_FALSE(parse_authority("example.com:0", 0));
  EXPECT_FALSE(parse_authority("example.com:65536", 0));
  EXPECT_FALSE(parse_authority("example.com:44x", 0));
  EXPECT_FALSE(parse_authority("[example.com]:443", 0)) << "brackets hold IPv6 literals only";
  EXPECT_FALSE(parse_authority("[::1]443", 0));
  EXPECT_FALSE(parse_authority("exa mple.com:443", 0));
  EXPECT_FALSE(parse_authority("example.com/x:443", 0));
  EXPECT_FALSE(parse_authority(std::string(254, 'a') + ":443", 0));
}

TEST(ProxyTarget, UrlsGiveTheOriginAndTheOriginFormPath) {
  auto plain = parse_absolute("http://Example.com:8080/a/b?c=d");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->target, (Target{"Example.com", 8080}));
  EXPECT_EQ(plain->path, "/a/b?c=d");
  auto secure = parse_absolute("HTTPS://example.com");
  ASSERT_TRUE(secure);
  EXPECT_TRUE(secure->tls);
  EXPECT_EQ(secure->target.port, 443);
  EXPECT_EQ(secure->path, "/");
  EXPECT_EQ(secure->target.text(true, 443), "example.com");
  auto query = parse_absolute("http://example.com?q");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->path, "/?q");
}

TEST(ProxyTarget, UrlsWithUserInfoOrOtherSchemesAreRefused) {
  EXPECT_FALSE(parse_absolute("http://user:pass@example.com/"))
      << "the part before @ must never be taken for the host";
  EXPECT_FALSE(parse_absolute("ftp://example.com/"));
  EXPECT_FALSE(parse_absolute("/just/a/path"));
  EXPECT_FALSE(parse_absolute("http:///nohost"));
}

}  // namespace
}  // namespace uptls::proxy
