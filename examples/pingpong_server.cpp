// The seed server (seed 000), written with uptls: plaintext PING/PONG,
// STARTTLS upgrades the connection in place, QUIT closes.
//
//   pingpong_server server.crt server.key [port]

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <iostream>
#include <string>
#include <uptls/uptls.hpp>

asio::awaitable<void> handle_client(std::shared_ptr<const uptls::tls::ServerConfig> config,
                                    uptls::Stream stream) {
  std::cout << "Client connected" << std::endl;
  while (auto request = co_await stream.read_line()) {
    std::cout << "Read '" << *request << "'" << std::endl;
    if (*request == "QUIT") break;
    if (*request == "PING") {
      std::cout << "Sending pong" << std::endl;
      co_await stream.write_all("PONG\n");
    } else if (*request == "STARTTLS") {
      std::cout << "Upgrading connection to TLS" << std::endl;
      co_await stream.start_tls(config);
    }
  }
  std::cout << "Closing client" << std::endl;
  co_await stream.close();
  std::cout << "Client closed" << std::endl;
}

asio::awaitable<void> run_server(std::string cert, std::string key, std::uint16_t port) {
  auto config = uptls::tls::ServerConfig::make(uptls::tls::Identity::from_files(cert, key));
  std::cout << "Starting server" << std::endl;
  uptls::Handler handler = [config](uptls::Stream stream) {
    return handle_client(config, std::move(stream));
  };
  std::string host = "127.0.0.1";
  uptls::Server server = co_await uptls::start_server(handler, host, port);
  std::cout << "Listening on port " << server.local_endpoint().port() << std::endl;
  co_await server.serve_forever();
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: pingpong_server CERT KEY [PORT]\n";
    return 2;
  }
  auto port = static_cast<std::uint16_t>(argc > 3 ? std::stoi(argv[3]) : 10001);
  asio::io_context io;
  int status = 0;
  asio::co_spawn(io, run_server(argv[1], argv[2], port), [&](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::cerr << "pingpong_server: " << e.what() << "\n";
      status = 1;
      io.stop();
    }
  });
  io.run();
  return status;
}
