#include "uptls/version.hpp"

#include <openssl/crypto.h>

namespace uptls {

// Compiled into the library, so it is the library's version even when the
// program was built against other headers.
std::string_view version() noexcept { return UPTLS_VERSION_STRING; }

namespace tls {

std::string_view openssl_version() noexcept { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace tls
}  // namespace uptls
