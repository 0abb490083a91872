#pragma once
// What every serving command (`serve`, `serve echo`, `inspect --listen`,
// `proxy`) shares: threads, timeouts, connection limits, and one way to run
// the server: the "listening on" line the tests wait for, SIGHUP reloads,
// SIGINT and SIGTERM drain.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "pingpong.hpp"
#include "uptls/server.hpp"
#include "uptls/tls/config.hpp"

namespace uptls::cli {

struct ServerArgs {
  unsigned threads = default_threads();
  unsigned workers = 1;
  double idle_timeout = 300;
  double write_timeout = 60;
  std::size_t max_connections = 0;
  std::size_t max_per_address = 0;
  double drain_timeout = 5;
  std::string proxy_protocol = "off";
  std::string metrics;
  std::vector<std::string> proxy_from;

  /// How long open connections may take to end at a stop.
  std::chrono::milliseconds drain() const;
  /// The threads of this process: --threads, or one for the parent of
  /// --workers (each worker runs --threads of its own).
  unsigned process_threads() const { return workers > 1 ? 1 : threads; }
};

/// Seconds as given on a command line, as milliseconds.
std::chrono::milliseconds seconds(double value);

/// Adds --threads, --workers, --idle-timeout, --write-timeout, --max-connections,
/// --max-per-address, --drain-timeout, --proxy-protocol, --proxy-from and
/// --metrics; the timeouts' help says
/// what they bound for this command.
void add_server_options(CLI::App& command, ServerArgs& args, const std::string& idle_help,
                        const std::string& write_help);

/// "127.0.0.1:8080", "[::1]:8080".
std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint);

/// How a serving command runs.
struct Serving {
  /// The command, as its messages begin: "serve", "serve echo".
  std::string command;
  /// Said in the listening line ("smtp", "intercepting"); may be empty.
  std::string what;
  /// What the metrics label it ("smtp", "pingpong", "proxy").
  std::string protocol;
  /// The listening line goes to standard error: standard output carries
  /// reports (inspect --listen --json).
  bool listening_on_stderr = false;
  /// Makes the TLS configuration again when SIGHUP comes (new connections
  /// get it, open ones keep theirs); empty: nothing to reload.
  std::function<std::shared_ptr<const tls::ServerConfig>()> make_tls;
};

/// Starts a server on listen (HOST:PORT) with options and args's limits and
/// timeouts, prints "listening on ADDRESS:PORT (WHAT, N threads)", and
/// serves until SIGINT or SIGTERM, then lets open connections end for
/// --drain-timeout. The signals are caught from before the line is printed:
/// a signal sent as soon as it is read stops the server gracefully. With
/// --workers N, N worker processes serve the port instead (workers.hpp).
/// @returns the command's exit status, 0.
asio::awaitable<int> serve_until_stopped(Handler handler, std::string listen, ServeOptions options,
                                         ServerArgs args, Serving serving);

/// One process's server on host:port: started, ready() called, SIGHUP
/// reloads, SIGINT or SIGTERM drains; returns 0.
asio::awaitable<int> serve_here(Handler handler, std::string host, std::uint16_t port,
                                ServeOptions options, ServerArgs args, Serving serving,
                                std::function<void(const Server&)> ready);

}  // namespace uptls::cli
