#include "server_options.hpp"

namespace uptls::cli {

std::chrono::milliseconds seconds(double value) {
  return std::chrono::milliseconds(static_cast<long>(value * 1000));
}

ServeOptions ServerArgs::serve_options() const {
  ServeOptions options;
  options.timeouts.idle = seconds(idle_timeout);
  options.timeouts.write = seconds(write_timeout);
  options.max_connections = max_connections;
  options.max_per_address = max_per_address;
  return options;
}

std::chrono::milliseconds ServerArgs::drain() const { return seconds(drain_timeout); }

void add_server_options(CLI::App& command, ServerArgs& args, const std::string& idle_help,
                        const std::string& write_help) {
  command
      .add_option("--threads", args.threads,
                  "threads serving connections (each connection stays on one at a time)")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  command.add_option("--idle-timeout", args.idle_timeout, idle_help + "; 0: none")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--write-timeout", args.write_timeout, write_help + "; 0: none")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--max-connections", args.max_connections,
                     "connections open at once; more are closed at once (0: no limit)");
  command.add_option("--max-per-address", args.max_per_address,
                     "connections open at once from one client address (0: no limit)");
  command
      .add_option("--drain-timeout", args.drain_timeout,
                  "SECONDS open connections may take to end after SIGINT or SIGTERM; then the "
                  "rest are closed, TLS ones with close_notify")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

void print_listening(const Server& server, const ServerArgs& args, const std::string& what) {
  auto endpoint = server.local_endpoint();
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  print_line("listening on " + address + ":" + std::to_string(endpoint.port()) + " (" +
             (what.empty() ? "" : what + ", ") + std::to_string(args.threads) + " thread" +
             (args.threads == 1 ? ")" : "s)"));
}

}  // namespace uptls::cli
