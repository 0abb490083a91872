// Fetches a file over FTP with TLS required (RFC 4217): AUTH TLS, the
// handshake (the server's certificate verified for HOST), PBSZ 0 and
// PROT P, the login, then the file over a protected passive data
// connection. Prints the file to standard output.
//
//   ftp_fetch HOST PORT CA_FILE USER PASSWORD PATH

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <iostream>
#include <stdexcept>
#include <string>
#include <uptls/uptls.hpp>

/// One command on the control connection; its reply must start with one
/// of codes. Returns the reply's first digit.
asio::awaitable<char> command(uptls::Stream& control, const std::string& line,
                              std::string_view codes) {
  co_await control.write_all(line + "\r\n");
  auto reply = co_await control.read_line();
  if (!reply || reply->empty() || codes.find((*reply)[0]) == std::string_view::npos) {
    throw std::runtime_error("the server answered " + line.substr(0, 4) + " with " +
                             reply.value_or("nothing"));
  }
  co_return (*reply)[0];
}

asio::awaitable<void> fetch(std::string host, std::uint16_t port, std::string ca_file,
                            std::string user, std::string password, std::string path) {
  uptls::tls::ClientOptions tls;
  tls.trust.ca_files = {ca_file};
  uptls::ConnectOptions options;
  options.tls = uptls::tls::ClientConfig::make(tls);
  options.upgradeable = true;
  uptls::Stream control = co_await uptls::open_connection(host, port, options);
  co_await uptls::starttls::client(control, uptls::starttls::Protocol::ftp);
  // 230 at once (an anonymous login) or 331 and a password.
  if (co_await command(control, "USER " + user, "23") == '3') {
    co_await command(control, "PASS " + password, "2");
  }
  co_await command(control, "TYPE I", "2");
  std::cout << co_await uptls::ftp::download(control, "RETR " + path) << std::flush;
  co_await command(control, "QUIT", "2");
  co_await control.close();
}

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: ftp_fetch HOST PORT CA_FILE USER PASSWORD PATH\n";
    return 2;
  }
  asio::io_context io;
  int status = 0;
  asio::co_spawn(io,
                 fetch(argv[1], static_cast<std::uint16_t>(std::stoi(argv[2])), argv[3], argv[4],
                       argv[5], argv[6]),
                 [&](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& error) {
                     std::cerr << "ftp_fetch: " << error.what() << "\n";
                     status = 1;
                   }
                 });
  io.run();
  return status;
}
