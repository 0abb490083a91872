#pragma once
// One implicit-TLS connection between a client and a server configuration,
// with what each side saw: for tests of configurations and verification.

#include <asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/support.hpp"
#include "uptls/connect.hpp"
#include "uptls/server.hpp"
#include "uptls/tls/session_info.hpp"

namespace uptls::test {

struct Handshake {
  Handshake() = default;
  /// What the client's connect (and first read) threw; empty if it did not.
  Caught client_error;
  std::optional<tls::SessionInfo> client_info;
  std::optional<tls::SessionInfo> server_info;
  std::optional<tls::CertificateInfo> server_certificate;  // as the client saw it
  std::vector<tls::CertificateInfo> server_chain;          // as the client saw it
  std::optional<tls::Verification> client_verdict;         // the client's verdict
  std::optional<tls::CertificateInfo> client_certificate;  // as the server saw it
  std::vector<std::string> server_log;
};

/// Connects a client with client_config, verifying server_name, to a fresh
/// implicit-TLS server with server_config; the server greets, the client
/// reads the greeting (which surfaces TLS 1.3 post-handshake alerts).
inline asio::awaitable<Handshake> handshake(std::shared_ptr<const tls::ServerConfig> server_config,
                                            std::shared_ptr<const tls::ClientConfig> client_config,
                                            std::string server_name) {
  Handshake result;
  ServeOptions serve;
  serve.tls = std::move(server_config);
  serve.upgradeable = false;
  serve.log = [&result](std::string_view line) { result.server_log.emplace_back(line); };
  Handler handler = [&result](Stream stream) -> asio::awaitable<void> {
    result.server_info = stream.tls_info();
    result.client_certificate = stream.peer_certificate();
    co_await stream.write_all("hello\n");
    while (co_await stream.read_line()) {
    }
    co_await stream.close();
  };
  std::string host = "127.0.0.1";
  Server server = co_await start_server(handler, host, 0, serve);
  ConnectOptions options;
  options.tls = std::move(client_config);
  options.server_name = std::move(server_name);
  auto port = server.local_endpoint().port();
  try {
    Stream stream = co_await open_connection(host, port, options);
    result.client_info = stream.tls_info();
    result.server_certificate = stream.peer_certificate();
    result.server_chain = stream.peer_chain();
    result.client_verdict = stream.verification();
    auto greeting = co_await stream.read_line();
    if (greeting != "hello") throw std::runtime_error("no greeting over TLS");
    co_await stream.close();
  } catch (const std::system_error& e) {
    result.client_error = Caught(e.code(), e.what());
  }
  co_await server.stop(std::chrono::seconds(2));
  co_return result;
}

}  // namespace uptls::test
