// An intercepting HTTPS proxy in a page: seed 002's proxy on the library.
// Makes a CA and writes its certificate to CA_OUT (trust it in the client),
// answers each CONNECT's handshake with a certificate minted for the host,
// and prints every request. With ANSWER, every request is answered with it
// (no network needed); without, requests go on to their origin, verified
// against the system trust store.
//
//   logging_proxy CA_OUT PORT [ANSWER]
//   curl --proxy http://127.0.0.1:PORT --cacert CA_OUT https://dummy.org/

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <uptls/uptls.hpp>

asio::awaitable<void> run(std::string ca_out, std::uint16_t port,
                          std::optional<std::string> answer) {
  auto authority = std::make_shared<uptls::tls::DevAuthority>("logging_proxy CA");
  std::ofstream(ca_out) << authority->ca_pem();

  uptls::ProxyOptions options;
  options.authority = authority;
  options.answer = answer;
  auto print = std::make_shared<std::mutex>();
  options.log = [print](const uptls::ProxyEvent& event) {
    std::lock_guard lock(*print);
    std::cout << event.method << ' ' << event.url << " -> " << event.status;
    if (!event.error.empty()) std::cout << " (" << event.error << ')';
    std::cout << std::endl;
  };
  uptls::Server server =
      co_await uptls::start_server(uptls::proxy_handler(options), "127.0.0.1", port);
  std::cout << "listening on 127.0.0.1:" << server.local_endpoint().port() << std::endl;

  asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM);
  co_await signals.async_wait(asio::use_awaitable);
  co_await server.stop();
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: logging_proxy CA_OUT PORT [ANSWER]\n";
    return 2;
  }
  std::optional<std::string> answer;
  if (argc > 3) answer = argv[3];
  asio::io_context io;
  int status = 0;
  asio::co_spawn(io, run(argv[1], static_cast<std::uint16_t>(std::stoi(argv[2])), answer),
                 [&](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& error) {
                     std::cerr << "logging_proxy: " << error.what() << "\n";
                     status = 1;
                   }
                 });
  io.run();
  return status;
}
