// `uptls serve pingpong`, the seed server, and `uptls serve PROTO`: the
// plaintext phase and STARTTLS of each protocol, and a minimal session after.

#include <chrono>
#include <memory>

#include "commands.hpp"
#include "pingpong.hpp"
#include "server_options.hpp"
#include "sessions/sessions.hpp"
#include "tls_options.hpp"
#include "uptls/starttls.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

constexpr const char* idle_help =
    "SECONDS a client may take to complete a line, in plaintext and in TLS";
constexpr const char* write_help =
    "SECONDS a client may leave the server's writes waiting (it stopped reading)";

struct ServeArgs {
  std::string listen = "127.0.0.1:10001";
  ServerTlsArgs tls;
  bool implicit_tls = false;
  bool quiet = false;
  ServerArgs server;
  std::string starttls_reply;
};

struct ProtocolServeArgs {
  starttls::Protocol protocol;
  std::string listen;
  ServerTlsArgs tls;
  ServerArgs server;
  bool quiet = false;
  bool opportunistic = false;
  bool no_session_reuse = false;
  std::string host_name = "localhost";
};

/// The greeting of `uptls serve PROTO` after its status, for the
/// protocols that greet with a line; empty for the others.
std::string greeting_of(starttls::Protocol protocol, const std::string& host) {
  using starttls::Protocol;
  switch (protocol) {
    case Protocol::smtp:
      return host + " ESMTP uptls";
    case Protocol::lmtp:
      return host + " LMTP uptls";
    case Protocol::imap:
      return host + " IMAP4rev1 uptls ready";
    case Protocol::pop3:
      return host + " POP3 uptls ready";
    case Protocol::sieve:
      return host + " ManageSieve ready";
    case Protocol::nntp:
      return host + " NNTP uptls ready (posting ok, articles are discarded)";
    case Protocol::ftp:
      return host + " FTP uptls ready";
    default:
      return {};
  }
}

/// Runs a server of `uptls serve` until SIGINT or SIGTERM; SIGHUP reloads
/// the certificate files.
// By value: callers return this coroutine without awaiting it.
asio::awaitable<int> run_server(Handler handler, std::string listen, ServerTlsArgs tls,
                                ServerArgs server_args, bool upgradeable, std::string what) {
  ServeOptions options;
  options.tls = make_server_config(tls);
  options.upgradeable = upgradeable;
  Serving serving;
  serving.command = "serve";
  serving.protocol = what.empty() ? "pingpong" : what;
  serving.what = std::move(what);
  serving.make_tls = [tls] { return make_server_config(tls); };
  co_return co_await serve_until_stopped(std::move(handler), std::move(listen), std::move(options),
                                         std::move(server_args), std::move(serving));
}

asio::awaitable<int> serve(std::shared_ptr<const ServeArgs> args) {
  bool quiet = args->quiet;
  std::string reply = args->starttls_reply;
  Handler handler = [quiet, reply](Stream stream) {
    Say say = [quiet](std::string_view line) {
      if (!quiet) print_line(line);
    };
    return serve_pingpong(std::move(stream), say, reply);
  };
  return run_server(handler, args->listen, args->tls, args->server, !args->implicit_tls, "");
}

/// One client of `uptls serve PROTO`: the dialogue, its session, a line
/// for each step.
asio::awaitable<void> serve_protocol(Stream stream, std::shared_ptr<const ProtocolServeArgs> args) {
  std::string peer = stream.peer();
  std::string name(starttls::info(args->protocol).name);
  bool quiet = args->quiet;
  Say say = [quiet, peer](std::string_view line) {
    if (quiet) return;
    // The peer once per line, first: many messages name it already.
    print_line(peer + ": " + name_peer_once(line, peer));
  };
  sessions::Options session;
  session.host_name = args->host_name;
  session.require_session_reuse = !args->no_session_reuse;
  session.policy =
      args->opportunistic ? starttls::Policy::opportunistic : starttls::Policy::required;
  session.log = say;
  starttls::ServerDialogueOptions options;
  options.host_name = args->host_name;
  options.greeting = greeting_of(args->protocol, args->host_name);
  options.capabilities = sessions::capabilities_before_tls(args->protocol, session);
  options.policy = session.policy;
  try {
    starttls::Learned learned = co_await starttls::server(stream, args->protocol, options);
    if (learned.client_left) {
      say(name + " session ended without TLS");
    } else {
      co_await sessions::serve(stream, args->protocol, learned, session);
      if (learned.tls && stream.is_tls()) {
        say(name + " session over TLS ended (" + describe_session(stream) + ")");
      } else if (learned.tls) {
        say(name + " session ended in plaintext: the client ended TLS (CCC)");
      } else {
        say(name + " session ended without TLS");
      }
    }
    co_await stream.close();
  } catch (const std::exception& e) {
    say(e.what());
  }
}

asio::awaitable<int> serve_protocol_clients(std::shared_ptr<const ProtocolServeArgs> args) {
  Handler handler = [args](Stream stream) { return serve_protocol(std::move(stream), args); };
  ServerTlsArgs tls = args->tls;
  // PostgreSQL 17's direct TLS needs the server to agree on ALPN
  // "postgresql"; clients of the SSLRequest send it too, or nothing.
  std::string_view alpn = starttls::info(args->protocol).alpn;
  if (!alpn.empty() && tls.protocol.alpn.empty()) tls.protocol.alpn = std::string(alpn);
  return run_server(handler, args->listen, tls, args->server, true,
                    std::string(starttls::info(args->protocol).name));
}

void add_protocol_command(CLI::App& serve_command, const starttls::ProtocolInfo& protocol) {
  std::string name(protocol.name);
  auto* command = serve_command.add_subcommand(
      name, "The " + name + " server (" + std::string(protocol.rfc) +
                "): its plaintext phase, STARTTLS, and a minimal session over TLS (see "
                "docs/protocols.md). Commands that need TLS are refused before it, and commands "
                "pipelined after STARTTLS are refused (CVE-2011-0411). SIGHUP reloads the "
                "certificate files; SIGINT or SIGTERM stop it gracefully.");
  auto args = std::make_shared<ProtocolServeArgs>();
  args->protocol = protocol.protocol;
  command->add_option("--listen", args->listen, "HOST:PORT to listen on; port 0 picks one")
      ->required();
  add_server_tls_options(*command, args->tls);
  command->add_option("--hostname", args->host_name, "the server's name in its greeting")
      ->capture_default_str();
  command->add_flag("--opportunistic", args->opportunistic,
                    "serve clients that do not upgrade too (default: TLS is required)");
  command->add_flag("--quiet", args->quiet, "do not print each session");
  command->add_flag("--no-session-reuse", args->no_session_reuse,
                    "ftp: serve protected data connections that do not resume the control "
                    "connection's TLS session (Python's ftplib); from its address still");
  add_server_options(*command, args->server, idle_help, write_help);
  command->footer("Example:\n  uptls serve " + name + " --listen 127.0.0.1:" +
                  std::to_string(10000 + protocol.port) + " --ca-out ca.pem");
  command->callback([args] {
    run_command_or_exit("serve", serve_protocol_clients(args), args->server.process_threads());
  });
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
  add_server_options(*pingpong, args->server, idle_help, write_help);
  pingpong->footer(
      "Examples:\n"
      "  uptls serve pingpong --listen 127.0.0.1:10001 --ca-out ca.pem\n"
      "  uptls serve pingpong --listen [::1]:10001 --cert server.crt --key server.key\n"
      "  uptls serve pingpong --listen 127.0.0.1:8000 --ca-out ca.pem --starttls-reply READY\n"
      "  uptls serve pingpong --listen 127.0.0.1:10443 --pem server.pem --implicit-tls \\\n"
      "      --alpn h2,http/1.1 --require-client-cert --client-ca clients.pem");
  pingpong->callback(
      [args] { run_command_or_exit("serve", serve(args), args->server.process_threads()); });
  for (const auto& protocol : starttls::protocols()) add_protocol_command(*serve_command, protocol);
}

}  // namespace uptls::cli
