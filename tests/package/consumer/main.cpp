// Uses the uptls API through the installed headers, prints the versions.
// Exit 0 only if every check held.

#include <uptls/uptls.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <iostream>

static_assert(__cplusplus >= 202002L, "uptls::uptls must bring C++20 with it");
#ifdef ASIO_NO_DEPRECATED
#error "uptls must not impose ASIO_NO_DEPRECATED on its users"
#endif

/// A STARTTLS round trip on loopback through the library's Stream, Server
/// and open_connection: what a shared libuptls must export.
asio::awaitable<std::string> round_trip(
    std::shared_ptr<const uptls::tls::ServerConfig> server_tls,
    std::shared_ptr<const uptls::tls::ClientConfig> client_tls) {
  uptls::ServeOptions serve;
  serve.tls = server_tls;
  serve.upgradeable = true;
  uptls::Handler handler = [](uptls::Stream stream) -> asio::awaitable<void> {
    auto command = co_await stream.read_line();
    if (command == "STARTTLS") co_await stream.start_tls();
    auto line = co_await stream.read_line();
    co_await stream.write_all("echo " + line.value_or("") + "\n");
    co_await stream.close();
  };
  std::string host = "127.0.0.1";
  uptls::Server server = co_await uptls::start_server(handler, host, 0, serve);
  uptls::ConnectOptions options;
  options.tls = client_tls;
  options.upgradeable = true;
  options.server_name = "localhost";
  uptls::Stream stream =
      co_await uptls::open_connection(host, server.local_endpoint().port(), options);
  co_await stream.write_all("STARTTLS\n");
  co_await stream.start_tls();
  co_await stream.write_all("hello\n");
  // The completion-token form, from the program's own Asio instantiation.
  std::string reply = co_await stream.async_read_line(100, asio::use_awaitable);
  co_await stream.close();
  co_await server.stop();
  co_return reply + (stream.is_tls() ? "" : " (not TLS)");
}

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
    asio::io_context io;
    std::string reply;
    asio::co_spawn(io, round_trip(server, client), [&](std::exception_ptr e, std::string r) {
      if (e) std::rethrow_exception(e);
      reply = r;
    });
    io.run();
    if (reply != "echo hello") {
      std::cerr << "consumer: STARTTLS round trip gave '" << reply << "'\n";
      return 1;
    }
    std::cout << "uptls " << uptls::version() << " (headers " << UPTLS_VERSION_STRING << ") with "
              << uptls::tls::openssl_version() << "\n";
    return uptls::version() == UPTLS_VERSION_STRING ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "consumer: " << e.what() << "\n";
    return 1;
  }
}
