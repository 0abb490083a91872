// `uptls serve pingpong`: the seed server.

#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <fstream>
#include <memory>

#include "commands.hpp"
#include "pingpong.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:10001";
  std::string cert;
  std::string key;
  std::string pem;
  std::string ca_out;
  std::vector<std::string> names{"localhost", "127.0.0.1", "::1"};
  bool implicit_tls = false;
  bool quiet = false;
};

tls::Identity load_identity(const ServeArgs& args) {
  if (!args.pem.empty()) return tls::Identity::from_pem_file(args.pem);
  if (!args.cert.empty() || !args.key.empty()) {
    if (args.cert.empty() || args.key.empty()) {
      throw std::invalid_argument("--cert and --key go together (or use --pem for one file)");
    }
    return tls::Identity::from_files(args.cert, args.key);
  }
  tls::DevAuthority authority;
  if (args.ca_out.empty()) {
    std::fprintf(stderr,
                 "uptls serve: no --cert/--pem given: using a made-up certificate; pass "
                 "--ca-out FILE so clients can trust it\n");
  } else {
    std::ofstream out(args.ca_out, std::ios::binary | std::ios::trunc);
    out << authority.ca_pem();
    if (!out.flush()) throw std::runtime_error("cannot write the CA to '" + args.ca_out + "'");
  }
  return authority.issue(args.names);
}

asio::awaitable<int> serve(std::shared_ptr<const ServeArgs> args) {
  auto [host, port] = split_host_port(args->listen);
  ServeOptions options;
  options.tls = tls::ServerConfig::make(load_identity(*args));
  options.upgradeable = !args->implicit_tls;
  bool quiet = args->quiet;
  Handler handler = [quiet](Stream stream) {
    return serve_pingpong(std::move(stream), [quiet](std::string_view line) {
      if (!quiet) print_line(line);
    });
  };
  Server server = co_await start_server(handler, host, port, options);
  auto endpoint = server.local_endpoint();
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  print_line("listening on " + address + ":" + std::to_string(endpoint.port()));

  asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM);
  co_await signals.async_wait(asio::use_awaitable);
  co_await server.stop();
  co_return 0;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto* serve_command = app.add_subcommand("serve", "Run a server.");
  serve_command->require_subcommand(1);
  auto* pingpong = serve_command->add_subcommand(
      "pingpong",
      "The seed server: PING answers PONG, STARTTLS upgrades the connection to TLS (nothing is "
      "sent first), QUIT closes. Runs until SIGINT or SIGTERM, then stops gracefully.");
  auto args = std::make_shared<ServeArgs>();
  pingpong->add_option("--listen", args->listen, "HOST:PORT to listen on; port 0 picks one")
      ->capture_default_str();
  pingpong->add_option("--cert", args->cert, "certificate chain PEM file");
  pingpong->add_option("--key", args->key, "private key PEM file");
  pingpong->add_option("--pem", args->pem, "one PEM file holding key and certificate chain");
  pingpong->add_option("--ca-out", args->ca_out,
                       "without --cert/--pem: make a CA and a certificate, write the CA here");
  pingpong->add_option("--name", args->names, "names of the made-up certificate")
      ->capture_default_str();
  pingpong->add_flag("--implicit-tls", args->implicit_tls, "TLS from the first byte, no STARTTLS");
  pingpong->add_flag("--quiet", args->quiet, "do not print each step");
  pingpong->footer(
      "Examples:\n"
      "  uptls serve pingpong --listen 127.0.0.1:10001 --ca-out ca.pem\n"
      "  uptls serve pingpong --listen [::1]:10001 --cert server.crt --key server.key\n"
      "  uptls serve pingpong --listen 127.0.0.1:10443 --pem server.pem --implicit-tls");
  pingpong->callback([args] {
    if (int status = run_command("serve", serve(args)); status != 0)
      throw CLI::RuntimeError(status);
  });
}

}  // namespace uptls::cli
