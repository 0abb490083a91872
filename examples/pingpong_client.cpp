// The seed client (seed 000), written with uptls: PING/PONG in plaintext,
// STARTTLS, the upgrade (the server's certificate verified against CAFILE
// for NAME), PING/PONG over TLS, QUIT.
//
//   pingpong_client ca.pem [host] [port] [name]

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <iostream>
#include <string>
#include <uptls/uptls.hpp>

asio::awaitable<void> ping(uptls::Stream& stream) {
  std::cout << "Sending PING" << std::endl;
  co_await stream.write_all("PING\n");
  auto response = co_await stream.read_line();
  if (!response) throw std::runtime_error("the server closed the connection");
  std::cout << "Received: " << *response << std::endl;
}

asio::awaitable<void> start_client(std::string cafile, std::string host, std::uint16_t port,
                                   std::string name) {
  std::cout << "Connect to the server" << std::endl;
  uptls::Stream stream = co_await uptls::open_connection(host, port);
  if (!stream.peer_certificate()) std::cout << "The server certificate is None" << std::endl;

  co_await ping(stream);

  std::cout << "Sending STARTTLS" << std::endl;
  co_await stream.write_all("STARTTLS\n");
  std::cout << "Upgrade the connection to TLS" << std::endl;
  uptls::tls::ClientOptions client;
  client.trust.ca_files.push_back(cafile);
  auto config = uptls::tls::ClientConfig::make(client);
  co_await stream.start_tls(config, name);
  std::cout << "The server certificate is " << stream.peer_certificate()->subject << std::endl;

  co_await ping(stream);

  std::cout << "Sending QUIT" << std::endl;
  co_await stream.write_all("QUIT\n");
  std::cout << "Closing client" << std::endl;
  co_await stream.close();
  std::cout << "Client disconnected" << std::endl;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: pingpong_client CAFILE [HOST] [PORT] [NAME]\n";
    return 2;
  }
  std::string host = argc > 2 ? argv[2] : "127.0.0.1";
  auto port = static_cast<std::uint16_t>(argc > 3 ? std::stoi(argv[3]) : 10001);
  std::string name = argc > 4 ? argv[4] : "localhost";
  asio::io_context io;
  int status = 0;
  asio::co_spawn(io, start_client(argv[1], host, port, name), [&](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::cerr << "pingpong_client: " << e.what() << "\n";
      status = 1;
    }
  });
  io.run();
  return status;
}
