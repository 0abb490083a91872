// `uptls client pingpong`: the seed client.

#include <memory>

#include "commands.hpp"
#include "pingpong.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

struct ClientArgs {
  std::string address;
  std::string cafile;
  std::string servername;
  bool quiet = false;
};

asio::awaitable<int> client(std::shared_ptr<const ClientArgs> args) {
  auto [host, port] = split_host_port(args->address);
  tls::ClientOptions tls_options;
  if (!args->cafile.empty()) tls_options.trust.ca_files.push_back(args->cafile);
  bool quiet = args->quiet;
  ConnectOptions options;
  options.tls = tls::ClientConfig::make(tls_options);
  options.server_name = args->servername;
  Say say = [quiet](std::string_view line) {
    if (!quiet) print_line(line);
  };
  co_await run_pingpong_client(host, port, options, say);
  co_return 0;
}

}  // namespace

void add_client_command(CLI::App& app) {
  auto* client_command = app.add_subcommand("client", "Run a client.");
  client_command->require_subcommand(1);
  auto* pingpong = client_command->add_subcommand(
      "pingpong",
      "The seed client: PING/PONG in plaintext, STARTTLS, the TLS handshake (the server's "
      "certificate verified), PING/PONG over TLS, QUIT. Exits 0 only if every step held.");
  auto args = std::make_shared<ClientArgs>();
  pingpong->add_option("address", args->address, "HOST:PORT of the server")->required();
  pingpong->add_option("--cafile", args->cafile,
                       "trust this CA PEM file instead of the system store");
  pingpong->add_option("--servername", args->servername,
                       "the name to verify the certificate against (default: HOST)");
  pingpong->add_flag("--quiet", args->quiet, "do not print each step");
  pingpong->footer(
      "Examples:\n"
      "  uptls client pingpong 127.0.0.1:10001 --cafile ca.pem --servername localhost\n"
      "  uptls client pingpong mail.example:10001");
  pingpong->callback([args] {
    if (int status = run_command("client", client(args)); status != 0)
      throw CLI::RuntimeError(status);
  });
}

}  // namespace uptls::cli
