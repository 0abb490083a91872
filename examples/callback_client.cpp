// The seed client (seed 000: PING, STARTTLS, PING, QUIT) written in Asio's
// callback style, without coroutines: every uptls operation takes any
// completion token, here plain lambdas receiving an error code.
//
//   callback_client ca.pem [host [port]]

#include <asio/io_context.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <uptls/uptls.hpp>

namespace {

/// One client session; each step starts the next from its completion handler.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& io, std::shared_ptr<const uptls::tls::ClientConfig> config)
      : io_(io), config_(std::move(config)) {}

  void start(const std::string& host, std::uint16_t port) {
    uptls::ConnectOptions options;
    options.tls = config_;
    options.upgradeable = true;  // plaintext first, TLS at STARTTLS
    options.server_name = "localhost";
    uptls::async_open_connection(
        io_.get_executor(), host, port, options,
        [self = shared_from_this()](std::error_code ec, uptls::Stream stream) {
          if (ec) return self->fail("connect", ec);
          self->stream_ = std::move(stream);
          self->ping([self] { self->upgrade(); });
        });
  }

  int status() const { return status_; }

 private:
  template <typename Next>
  void ping(Next next) {
    stream_.async_write_all(asio::buffer(ping_), [self = shared_from_this(), next](
                                                     std::error_code ec, std::size_t) {
      if (ec) return self->fail("PING", ec);
      self->stream_.async_read_line(100, [self, next](std::error_code read_ec, std::string reply) {
        if (read_ec) return self->fail("reading PONG", read_ec);
        std::cout << "Received: " << reply << (self->stream_.is_tls() ? " (over TLS)" : "")
                  << std::endl;
        next();
      });
    });
  }

  void upgrade() {
    stream_.async_write_all(asio::buffer(starttls_), [self = shared_from_this()](std::error_code ec,
                                                                                 std::size_t) {
      if (ec) return self->fail("STARTTLS", ec);
      self->stream_.async_start_tls(uptls::CarryOver::role_default, [self](std::error_code tls_ec) {
        if (tls_ec) return self->fail("the handshake", tls_ec);
        auto cert = self->stream_.peer_certificate();
        std::cout << "Server certificate: " << cert->subject << std::endl;
        self->ping([self] { self->quit(); });
      });
    });
  }

  void quit() {
    stream_.async_write_all(asio::buffer(quit_),
                            [self = shared_from_this()](std::error_code ec, std::size_t) {
                              if (ec) return self->fail("QUIT", ec);
                              self->stream_.async_close([self](std::error_code) {
                                std::cout << "Closed" << std::endl;
                                self->status_ = 0;
                              });
                            });
  }

  void fail(const char* step, std::error_code ec) {
    std::cerr << "callback_client: " << step << " failed: "
              << (stream_.error_message().empty() ? ec.message() : stream_.error_message())
              << std::endl;
    stream_.abort();
  }

  asio::io_context& io_;
  std::shared_ptr<const uptls::tls::ClientConfig> config_;
  uptls::Stream stream_;
  int status_ = 1;
  const std::string ping_ = "PING\n";
  const std::string starttls_ = "STARTTLS\n";
  const std::string quit_ = "QUIT\n";
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: callback_client CA.pem [HOST [PORT]]\n";
    return 2;
  }
  std::string host = argc > 2 ? argv[2] : "127.0.0.1";
  auto port = static_cast<std::uint16_t>(argc > 3 ? std::stoi(argv[3]) : 10001);
  try {
    uptls::tls::ClientOptions client;
    client.trust.ca_files.push_back(argv[1]);
    asio::io_context io;
    auto session = std::make_shared<Session>(io, uptls::tls::ClientConfig::make(client));
    session->start(host, port);
    io.run();
    return session->status();
  } catch (const std::exception& e) {
    std::cerr << "callback_client: " << e.what() << "\n";
    return 1;
  }
}
