// Sends one message over SMTP with STARTTLS required: the greeting, EHLO,
// STARTTLS, the handshake (the server's certificate verified for HOST),
// EHLO again, then the mail. A server that does not offer STARTTLS, or
// injects a reply before the handshake, stops it with a message saying so.
//
//   smtp_submit HOST PORT CA_FILE FROM TO

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <iostream>
#include <stdexcept>
#include <string>
#include <uptls/uptls.hpp>

/// One SMTP command and its reply; the reply must start with the code.
asio::awaitable<void> command(uptls::Stream& stream, const std::string& line,
                              const std::string& code) {
  co_await stream.write_all(line + "\r\n");
  for (;;) {
    auto reply = co_await stream.read_line();
    if (!reply) throw std::runtime_error("the server closed the connection after " + line);
    std::cout << "S: " << *reply << "\n";
    if (reply->compare(0, 3, code) != 0) throw std::runtime_error("unexpected reply to " + line);
    if (reply->size() < 4 || (*reply)[3] != '-') co_return;
  }
}

asio::awaitable<void> submit(std::string host, std::uint16_t port, std::string ca_file,
                             std::string from, std::string to) {
  uptls::tls::ClientOptions tls;
  tls.trust.ca_files = {ca_file};
  uptls::ConnectOptions options;
  options.tls = uptls::tls::ClientConfig::make(tls);
  options.upgradeable = true;  // TLS after STARTTLS, not from the first byte
  uptls::Stream stream = co_await uptls::open_connection(host, port, options);

  uptls::starttls::Learned learned =
      co_await uptls::starttls::client(stream, uptls::starttls::Protocol::smtp);
  std::cout << "greeting: " << learned.greeting << "\n";
  for (const auto& capability : learned.capabilities)
    std::cout << "over TLS: " << capability << "\n";
  std::cout << "TLS: " << stream.tls_info()->version << " " << stream.tls_info()->cipher << "\n";

  co_await command(stream, "MAIL FROM:<" + from + ">", "250");
  co_await command(stream, "RCPT TO:<" + to + ">", "250");
  co_await command(stream, "DATA", "354");
  co_await command(stream,
                   "From: <" + from + ">\r\nTo: <" + to +
                       ">\r\nSubject: sent by smtp_submit\r\n\r\nHello over STARTTLS.\r\n.",
                   "250");
  co_await command(stream, "QUIT", "221");
  co_await stream.close();
}

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: smtp_submit HOST PORT CA_FILE FROM TO\n";
    return 2;
  }
  asio::io_context io;
  int status = 0;
  asio::co_spawn(
      io,
      submit(argv[1], static_cast<std::uint16_t>(std::stoi(argv[2])), argv[3], argv[4], argv[5]),
      [&](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& error) {
          std::cerr << "smtp_submit: " << error.what() << "\n";
          status = 1;
        }
      });
  io.run();
  return status;
}
