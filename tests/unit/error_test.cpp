#include "uptls/error.hpp"

#include <gtest/gtest.h>

namespace uptls {
namespace {

TEST(Error, LibraryCodesHaveTheirOwnCategoryAndMessages) {
  std::error_code code = errc::injected_plaintext;
  EXPECT_EQ(&code.category(), &error_category());
  EXPECT_STREQ(code.category().name(), "uptls");
  EXPECT_NE(code.message().find("STARTTLS injection"), std::string::npos);
  EXPECT_NE(std::error_code(errc::line_too_long), std::error_code(errc::unexpected_eof));
}

TEST(Error, WhatIsTheWholeMessage) {
  Error error(errc::line_too_long, "line longer than 10 bytes");
  EXPECT_STREQ(error.what(), "line longer than 10 bytes");
  EXPECT_EQ(error.code(), errc::line_too_long);
}

TEST(Error, VerifyCategoryNamesTheFailure) {
  std::error_code expired(10, verify_category());  // X509_V_ERR_CERT_HAS_EXPIRED
  EXPECT_EQ(expired.message(), "certificate has expired");
}

}  // namespace
}  // namespace uptls
