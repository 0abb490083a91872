#include "uptls/error.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace uptls {
namespace {

TEST(Error, LibraryCodesHaveTheirOwnCategoryAndMessages) {
  std::error_code code = errc::injected_plaintext;
  EXPECT_EQ(&code.category(), &error_category());
  EXPECT_STREQ(code.category().name(), "uptls");
  EXPECT_NE(code.message().find("STARTTLS injection"), std::string::npos);
  EXPECT_NE(std::error_code(errc::line_too_long), std::error_code(errc::unexpected_eof));
}

TEST(Error, EveryTimeoutIsOneCondition) {
  for (errc timeout : {errc::connect_timeout, errc::handshake_timeout, errc::read_timeout,
                       errc::idle_timeout, errc::write_timeout, errc::close_timeout}) {
    std::error_code code = timeout;
    EXPECT_EQ(code, condition::timeout) << code.message();
    EXPECT_TRUE(code == condition::timeout);
  }
  // The system's own: a TCP connect the kernel gave up on, as Asio reports it.
  EXPECT_EQ(std::error_code(ETIMEDOUT, std::system_category()), condition::timeout);
  for (errc other : {errc::line_too_long, errc::unexpected_eof, errc::stream_closed,
                     errc::connection_limit, errc::session_not_resumed}) {
    EXPECT_NE(std::error_code(other), condition::timeout) << std::error_code(other).message();
  }
  EXPECT_NE(std::make_error_code(std::errc::connection_reset), condition::timeout);
  EXPECT_EQ(make_error_condition(condition::timeout).message(), "timed out");
  EXPECT_STREQ(condition_category().name(), "uptls.condition");
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

TEST(ErrorOf, EveryExceptionGivesAFailingCodeAndItsMessage) {
  std::string message;
  auto code =
      error_of(std::make_exception_ptr(Error(errc::idle_timeout, "no reply to EHLO")), message);
  EXPECT_EQ(code, errc::idle_timeout);
  EXPECT_EQ(message, "no reply to EHLO");

  code = error_of(std::make_exception_ptr(std::bad_alloc()), message);
  EXPECT_EQ(code, std::errc::not_enough_memory);

  code = error_of(std::make_exception_ptr(std::logic_error("oops")), message);
  EXPECT_EQ(code, errc::unexpected_exception);
  EXPECT_NE(message.find("oops"), std::string::npos);

  code = error_of(std::make_exception_ptr(42), message);
  EXPECT_EQ(code, errc::unexpected_exception);

  // A system_error made from a success code must not read as success.
  code = error_of(std::make_exception_ptr(std::system_error(std::error_code(), "odd")), message);
  EXPECT_TRUE(code);
}

}  // namespace
}  // namespace uptls
