// Uses the uptls API through the installed headers, prints the versions.
// Exit 0 only if every check held.

#include <uptls/uptls.hpp>

#include <iostream>

static_assert(__cplusplus >= 202002L, "uptls::uptls must bring C++20 with it");
#ifdef ASIO_NO_DEPRECATED
#error "uptls must not impose ASIO_NO_DEPRECATED on its users"
#endif

int main() {
  try {
    uptls::tls::DevAuthority authority;
    uptls::tls::ClientOptions client_options;
    client_options.trust.ca_pem = authority.ca_pem();
    auto client = uptls::tls::ClientConfig::make(client_options);
    auto server = uptls::tls::ServerConfig::make(authority.issue({"localhost"}));
    if (!client->verifies_peer() || server->native_handle() == nullptr) {
      std::cerr << "consumer: configurations not as built\n";
      return 1;
    }
    // An exception thrown inside the library is caught by its type here.
    try {
      uptls::tls::parse_version("1.1");
      std::cerr << "consumer: TLS 1.1 was accepted\n";
      return 1;
    } catch (const uptls::Error& e) {
      if (e.code() != uptls::errc::invalid_config) {
        std::cerr << "consumer: unexpected error " << e.code().message() << "\n";
        return 1;
      }
    }
    std::cout << "uptls " << uptls::version() << " (headers " << UPTLS_VERSION_STRING << ") with "
              << uptls::tls::openssl_version() << "\n";
    return uptls::version() == UPTLS_VERSION_STRING ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "consumer: " << e.what() << "\n";
    return 1;
  }
}
