// `uptls serve pingpong`: the seed server.

#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <memory>

#include "commands.hpp"
#include "pingpong.hpp"
#include "server_options.hpp"
#include "tls_options.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:10001";
  ServerTlsArgs tls;
  bool implicit_tls = false;
  bool quiet = false;
  ServerArgs server;
  std::string starttls_reply;
};

asio::awaitable<int> serve(std::shared_ptr<const ServeArgs> args) {
  auto [host, port] = split_host_port(args->listen);
  raise_descriptor_limit();
  ServeOptions options = args->server.serve_options();
  options.tls = make_server_config(args->tls);
  options.upgradeable = !args->implicit_tls;
  bool quiet = args->quiet;
  std::string reply = args->starttls_reply;
  Handler handler = [quiet, reply](Stream stream) {
    Say say = [quiet](std::string_view line) {
      if (!quiet) print_line(line);
    };
    return serve_pingpong(std::move(stream), say, reply);
  };
  Server server = co_await start_server(handler, host, port, options);
  print_listening(server, args->server);

  asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM, SIGHUP);
  for (;;) {
    int signal = co_await signals.async_wait(asio::use_awaitable);
    if (signal != SIGHUP) break;
    // A renewed certificate: new connections get it, open ones keep theirs.
    try {
      server.set_tls(make_server_config(args->tls));
      print_line("reloaded the TLS configuration");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "uptls serve: reload failed, keeping the old configuration: %s\n",
                   e.what());
    }
  }
  co_await server.stop(args->server.drain());
  co_return 0;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto* serve_command = app.add_subcommand("serve", "Run a server.");
  serve_command->require_subcommand(1);
  auto* pingpong = serve_command->add_subcommand(
      "pingpong",
      "The seed server: PING answers PONG, STARTTLS upgrades the connection to TLS (nothing is "
      "sent first unless --starttls-reply), QUIT closes. SIGHUP reloads the certificate files; "
      "SIGINT or SIGTERM stop "
      "it gracefully.");
  auto args = std::make_shared<ServeArgs>();
  pingpong->add_option("--listen", args->listen, "HOST:PORT to listen on; port 0 picks one")
      ->capture_default_str();
  add_server_tls_options(*pingpong, args->tls);
  pingpong->add_flag("--implicit-tls", args->implicit_tls, "TLS from the first byte, no STARTTLS");
  pingpong->add_option("--starttls-reply", args->starttls_reply,
                       "LINE to answer STARTTLS with before the handshake, as Twisted's "
                       "starttls_server answers READY (default: nothing, as seed 000)");
  pingpong->add_flag("--quiet", args->quiet, "do not print each step");
  add_server_options(*pingpong, args->server,
                     "SECONDS a client may take to complete a line, in plaintext and in TLS",
                     "SECONDS a client may leave the server's writes waiting (it stopped "
                     "reading)");
  pingpong->footer(
      "Examples:\n"
      "  uptls serve pingpong --listen 127.0.0.1:10001 --ca-out ca.pem\n"
      "  uptls serve pingpong --listen [::1]:10001 --cert server.crt --key server.key\n"
      "  uptls serve pingpong --listen 127.0.0.1:8000 --ca-out ca.pem --starttls-reply READY\n"
      "  uptls serve pingpong --listen 127.0.0.1:10443 --pem server.pem --implicit-tls \\\n"
      "      --alpn h2,http/1.1 --require-client-cert --client-ca clients.pem");
  pingpong->callback([args] { run_command_or_exit("serve", serve(args), args->server.threads); });
}

}  // namespace uptls::cli
