// `uptls client pingpong`: the seed client.

#include <memory>

#include "commands.hpp"
#include "pingpong.hpp"
#include "tls_options.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

struct ClientArgs {
  std::string address;
  ClientTlsArgs tls;
  bool implicit_tls = false;
  bool quiet = false;
  double reply_wait = 0.2;
};

asio::awaitable<int> client(std::shared_ptr<const ClientArgs> args) {
  auto [host, port] = split_host_port(args->address);
  ConnectOptions options = connect_options(args->tls);
  bool quiet = args->quiet;
  Say say = [quiet](std::string_view line) {
    if (!quiet) print_line(line);
  };
  auto reply_wait = std::chrono::milliseconds(static_cast<long>(args->reply_wait * 1000));
  co_await run_pingpong_client(host, port, options, args->implicit_tls, reply_wait, say);
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
  add_client_tls_options(*pingpong, args->tls);
  pingpong->add_flag("--implicit-tls", args->implicit_tls,
                     "TLS from the first byte: no plaintext PING, no STARTTLS");
  pingpong
      ->add_option("--reply-wait", args->reply_wait,
                   "SECONDS to wait for a READY line after STARTTLS before the handshake (a "
                   "server that answers READY is upgraded at once; the seed server answers "
                   "nothing); 0: no wait")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  pingpong->add_flag("--quiet", args->quiet, "do not print each step");
  pingpong->footer(
      "Examples:\n"
      "  uptls client pingpong 127.0.0.1:10001 --cafile ca.pem --servername localhost\n"
      "  uptls client pingpong 127.0.0.1:10443 --implicit-tls --cafile ca.pem \\\n"
      "      --pem alice.pem --alpn h2\n"
      "  uptls client pingpong mail.example:10001");
  pingpong->callback([args] { run_command_or_exit("client", client(args)); });
}

}  // namespace uptls::cli
