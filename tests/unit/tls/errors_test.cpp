#include "tls/errors.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

namespace uptls::tls::detail {
namespace {

// Some OpenSSL calls fail without queuing a reason: the error must still
// be an error, never error_code(0), which reads as success.
TEST(DrainErrors, AnEmptyQueueIsStillAnError) {
  ERR_clear_error();
  Error error = drain_errors("cannot do the thing");
  EXPECT_TRUE(error.code());
  EXPECT_EQ(error.code(), errc::tls_library_error);
  EXPECT_NE(std::string(error.what()).find("cannot do the thing"), std::string::npos);
}

TEST(DrainErrors, TheFirstQueuedErrorIsTheCode) {
  ERR_clear_error();
  ERR_raise(ERR_LIB_SSL, ERR_R_PASSED_NULL_PARAMETER);
  Error error = drain_errors("context");
  EXPECT_EQ(error.code().category(), tls_category());
  EXPECT_TRUE(error.code());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(CheckNameToVerify, ANulByteIsRefused) {
  try {
    check_name_to_verify(std::string("localhost\0.evil", 15));
    ADD_FAILURE() << "a name with a NUL byte was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("NUL"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(check_name_to_verify("localhost"));
}

}  // namespace
}  // namespace uptls::tls::detail
