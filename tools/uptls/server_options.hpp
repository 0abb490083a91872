#pragma once
// The options every serving command shares (`serve pingpong`, `proxy`):
// threads, timeouts, connection limits, the drain on SIGINT/SIGTERM, and the
// "listening on" line the tests wait for.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <string>

#include "commands.hpp"
#include "uptls/server.hpp"

namespace uptls::cli {

struct ServerArgs {
  unsigned threads = default_threads();
  double idle_timeout = 300;
  double write_timeout = 60;
  std::size_t max_connections = 0;
  std::size_t max_per_address = 0;
  double drain_timeout = 5;

  /// Timeouts and limits as ServeOptions (TLS left to the command).
  ServeOptions serve_options() const;
  /// How long open connections may take to end at a stop.
  std::chrono::milliseconds drain() const;
};

/// Seconds as given on a command line, as milliseconds.
std::chrono::milliseconds seconds(double value);

/// Adds --threads, --idle-timeout, --write-timeout, --max-connections,
/// --max-per-address and --drain-timeout; the timeouts' help says what they
/// bound for this command.
void add_server_options(CLI::App& command, ServerArgs& args, const std::string& idle_help,
                        const std::string& write_help);

/// Prints "listening on ADDRESS:PORT (WHAT, N threads)"; WHAT may be empty.
void print_listening(const Server& server, const ServerArgs& args, const std::string& what = {});

}  // namespace uptls::cli
