// What a TLS server presents, reported even when it does not verify: the
// library side of `uptls inspect`. Connects with implicit TLS, prints the
// session, the verdict and the chain, then checks the chain again offline
// with tls::verify_chain, as `uptls cert verify` does.
//
//   inspect_server CAFILE HOST PORT [NAME]

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <iostream>
#include <string>
#include <uptls/uptls.hpp>

asio::awaitable<int> inspect(std::string cafile, std::string host, std::uint16_t port,
                             std::string name) {
  uptls::tls::ClientOptions client;
  client.trust.ca_files.push_back(cafile);
  // Complete the handshake whatever the verdict, and report it: never for a
  // connection whose data you trust.
  client.verification = uptls::tls::PeerVerification::dangerous_report_only;
  uptls::ConnectOptions options;
  options.tls = uptls::tls::ClientConfig::make(client);
  options.server_name = name;
  uptls::Stream stream = co_await uptls::open_connection(host, port, options);

  auto session = stream.tls_info();
  std::cout << "protocol " << session->version << ", cipher " << session->cipher << ", group "
            << session->group << ", signature " << session->peer_signature << "\n";
  auto verdict = stream.verification();
  std::cout << "verdict: " << (verdict->ok ? "ok" : "NOT ok") << ": " << verdict->message << "\n";
  std::string chain;
  for (const auto& certificate : stream.peer_chain()) {
    std::cout << "chain: " << certificate.subject << " (issuer " << certificate.issuer << ")\n";
    chain += certificate.pem;
  }
  co_await stream.close();

  uptls::tls::VerifyOptions offline;
  offline.trust.ca_files.push_back(cafile);
  offline.name = name;
  std::cout << "offline: " << uptls::tls::verify_chain(chain, offline).message << "\n";
  co_return verdict->ok ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: inspect_server CAFILE HOST PORT [NAME]\n";
    return 2;
  }
  std::string name = argc > 4 ? argv[4] : argv[2];
  asio::io_context io;
  int status = 2;
  asio::co_spawn(io,
                 inspect(argv[1], argv[2], static_cast<std::uint16_t>(std::stoi(argv[3])), name),
                 [&](std::exception_ptr error, int result) {
                   if (!error) {
                     status = result;
                     return;
                   }
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     std::cerr << "inspect_server: " << e.what() << "\n";
                   }
                 });
  io.run();
  return status;
}
