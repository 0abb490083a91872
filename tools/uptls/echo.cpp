// `uptls serve echo` and `uptls client echo`: seed 004's Twisted echo servers and clients
// (starttls_server, echoserv_ssl, echoclient_ssl and the client
// certificate pair) as one command.

#include <asio/use_awaitable.hpp>
#include <memory>

#include "commands.hpp"
#include "pingpong.hpp"
#include "server_options.hpp"
#include "tls_options.hpp"
#include "upgrade_options.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

struct EchoServeArgs {
  std::string listen = "127.0.0.1:8000";
  ServerTlsArgs tls;
  bool implicit_tls = false;
  std::string starttls_line;
  std::string starttls_reply;
  bool quiet = false;
  ServerArgs server;
};

struct EchoClientArgs {
  std::string address;
  ClientTlsArgs tls;
  UpgradeArgs upgrade;
  std::vector<std::string> lines{"hello"};
};

/// The line without its end (LF or CRLF).
std::string_view bare(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

/// Echoes every line with the end it came with; QUIT closes; the upgrade
/// line (when not yet in TLS) is answered with reply, then the handshake.
asio::awaitable<void> echo(Stream stream, std::string upgrade_line, std::string reply, Say say) {
  say("Client connected from " + stream.peer());
  if (stream.is_tls()) say(describe_session(stream));
  for (;;) {
    std::string line;
    try {
      line = co_await stream.read_until("\n", 8192);
    } catch (const std::system_error& e) {
      if (e.code() == errc::unexpected_eof && stream.buffered() == 0) break;
      throw;
    }
    std::string_view text = bare(line);
    say("received: " + std::string(text));
    if (text == "QUIT") break;
    if (!upgrade_line.empty() && !stream.is_tls() && text == upgrade_line) {
      say("-- Switching to TLS");
      if (!reply.empty())
        co_await stream.write_all(reply + (line.size() - text.size() == 2 ? "\r\n" : "\n"));
      co_await stream.start_tls();
      say(describe_session(stream));
      continue;
    }
    co_await stream.write_all(line);
  }
  co_await stream.close();
  say("Client closed");
}

asio::awaitable<int> serve(std::shared_ptr<const EchoServeArgs> args) {
  ServeOptions options;
  options.tls = make_server_config(args->tls);
  options.upgradeable = !args->implicit_tls;
  bool quiet = args->quiet;
  std::string line = args->starttls_line;
  std::string reply = args->starttls_reply;
  Handler handler = [quiet, line, reply](Stream stream) {
    Say say = [quiet](std::string_view text) {
      if (!quiet) print_line(text);
    };
    return echo(std::move(stream), line, reply, say);
  };
  Serving serving;
  serving.protocol = "echo";
  serving.command = "serve echo";
  serving.what = "echo";
  serving.make_tls = [tls = args->tls] { return make_server_config(tls); };
  co_return co_await serve_until_stopped(handler, args->listen, std::move(options), args->server,
                                         std::move(serving));
}

asio::awaitable<int> client(std::shared_ptr<const EchoClientArgs> args) {
  auto [host, port] = split_host_port(args->address);
  ConnectOptions options = connect_options(args->tls);
  Say say = [](std::string_view text) { print_line(text); };
  Stream stream = co_await connect_upgraded(host, port, options, args->upgrade, say);
  say(describe_session(stream));
  int status = 0;
  for (const auto& line : args->lines) {
    co_await stream.write_all(line + "\r\n");
    auto echoed = co_await stream.read_line();
    say("echoed: " + echoed.value_or("(the server closed)"));
    if (echoed != line) status = 1;
  }
  co_await stream.write_all("QUIT\r\n");
  co_await stream.close();
  co_return status;
}

void add_serve(CLI::App& serve_command) {
  auto* command = serve_command.add_subcommand(
      "echo",
      "Echo every line (with its own line end); QUIT closes. TLS from the first byte "
      "(--implicit-tls), or after --starttls-line, answered with --starttls-reply first as "
      "Twisted's starttls_server answers READY. SIGHUP reloads the certificate files; SIGINT "
      "or SIGTERM stop it gracefully.");
  auto args = std::make_shared<EchoServeArgs>();
  command->add_option("--listen", args->listen, "HOST:PORT to listen on; port 0 picks one")
      ->capture_default_str();
  add_server_tls_options(*command, args->tls);
  auto* implicit =
      command->add_flag("--implicit-tls", args->implicit_tls, "TLS from the first byte");
  auto* line = command->add_option("--starttls-line", args->starttls_line,
                                   "the line that upgrades the connection (e.g. STARTTLS)");
  implicit->excludes(line);
  command
      ->add_option("--starttls-reply", args->starttls_reply,
                   "LINE to answer the upgrade line with before the handshake (e.g. READY)")
      ->needs(line);
  command->add_flag("--quiet", args->quiet, "do not print each line");
  add_server_options(*command, args->server, "SECONDS a client may take to send a whole line",
                     "SECONDS a client may leave the server's writes waiting (it stopped reading)");
  command->footer(
      "Examples:\n"
      "  uptls serve echo --listen 127.0.0.1:8000 --starttls-line STARTTLS "
      "--starttls-reply READY --ca-out ca.pem\n"
      "  uptls serve echo --listen 127.0.0.1:8443 --implicit-tls --pem server.pem \\\n"
      "      --require-client-cert --client-ca clients.pem");
  command->callback([args] {
    if (!args->implicit_tls && args->starttls_line.empty()) {
      throw CLI::ValidationError("say how TLS starts: --implicit-tls or --starttls-line LINE");
    }
    run_command_or_exit("serve echo", serve(args), args->server.process_threads());
  });
}

void add_client(CLI::App& client_command) {
  auto* command = client_command.add_subcommand(
      "echo",
      "Send each line, expect it echoed, then QUIT (seed 004's echoclient_ssl and "
      "starttls_client). Exits 0 only if every line came back.");
  auto args = std::make_shared<EchoClientArgs>();
  command->add_option("address", args->address, "HOST:PORT of the server")->required();
  command->add_option("--line", args->lines, "a line to send (repeatable; default: hello)")
      ->take_all();
  add_upgrade_options(*command, args->upgrade, 300);
  add_client_tls_options(*command, args->tls);
  command->footer(
      "Examples:\n"
      "  uptls client echo 127.0.0.1:8000 --starttls-line STARTTLS --expect READY "
      "--cafile ca.pem --servername localhost\n"
      "  uptls client echo 127.0.0.1:8443 --implicit-tls --cafile ca.pem --pem alice.pem");
  command->callback([args] { run_command_or_exit("client echo", client(args)); });
}

}  // namespace

void add_echo_commands(CLI::App& serve_command, CLI::App& client_command) {
  add_serve(serve_command);
  add_client(client_command);
}

}  // namespace uptls::cli
