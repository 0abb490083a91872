#include "server_options.hpp"

#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <csignal>
#include <cstdio>
#include <stdexcept>

#include "metrics.hpp"
#include "uptls/printable.hpp"
#include "workers.hpp"

namespace uptls::cli {

std::chrono::milliseconds seconds(double value) {
  return std::chrono::milliseconds(static_cast<long>(value * 1000));
}

std::chrono::milliseconds ServerArgs::drain() const { return seconds(drain_timeout); }

void add_server_options(CLI::App& command, ServerArgs& args, const std::string& idle_help,
                        const std::string& write_help) {
  command
      .add_option("--threads", args.threads,
                  "threads serving connections (each connection stays on one at a time)")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  command
      .add_option("--workers", args.workers,
                  "worker processes serving the port (SO_REUSEPORT), each with --threads; one "
                  "that dies is started again, SIGHUP and SIGTERM go on to them")
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
  command
      .add_option("--proxy-protocol", args.proxy_protocol,
                  "read a PROXY protocol header (v1 or v2, as HAProxy's send-proxy-v2 sends) "
                  "before anything else: the client it names is the peer in logs and limits; "
                  "required closes connections without one, optional serves them as they are")
      ->check(CLI::IsMember({"off", "optional", "required"}))
      ->capture_default_str();
  command.add_option("--metrics", args.metrics,
                     "HOST:PORT to serve this server's counters on, at /metrics in Prometheus's "
                     "text format (connections, handshakes, upgrades, failures, bytes, "
                     "handshake latency)");
  command
      .add_option("--proxy-from", args.proxy_from,
                  "CIDR... sources trusted to send a PROXY header, e.g. 10.0.0.0/8 (default: any)")
      ->check([](const std::string& text) {
        try {
          proxy_protocol::parse_network(text);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
}

namespace {

void apply_proxy_protocol(const ServerArgs& args, ServeOptions& options) {
  options.accept_proxy = args.proxy_protocol == "required"   ? proxy_protocol::Mode::required
                         : args.proxy_protocol == "optional" ? proxy_protocol::Mode::optional
                                                             : proxy_protocol::Mode::off;
  for (const std::string& text : args.proxy_from) {
    options.proxy_from.push_back(proxy_protocol::parse_network(text));
  }
}

}  // namespace

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

asio::awaitable<int> serve_until_stopped(Handler handler, std::string listen, ServeOptions options,
                                         ServerArgs args, Serving serving) {
  auto [host, port] = split_host_port(listen);
  raise_descriptor_limit();
  options.timeouts.idle = seconds(args.idle_timeout);
  options.timeouts.write = seconds(args.write_timeout);
  options.max_connections = args.max_connections;
  options.max_per_address = args.max_per_address;
  apply_proxy_protocol(args, options);
  if (args.workers > 1) {
    co_return co_await serve_with_workers(std::move(handler), host, port, std::move(options), args,
                                          std::move(serving));
  }
  auto ready = [&](const Server& server) {
    std::string line = "listening on " + endpoint_text(server.local_endpoint()) + " (" +
                       (serving.what.empty() ? "" : serving.what + ", ") +
                       std::to_string(args.threads) + " thread" + (args.threads == 1 ? ")" : "s)");
    if (serving.listening_on_stderr) {
      std::fprintf(stderr, "uptls %s: %s\n", serving.command.c_str(), line.c_str());
    } else {
      print_line(line);
    }
  };
  co_return co_await serve_here(std::move(handler), host, port, std::move(options), args, serving,
                                ready);
}

asio::awaitable<int> serve_here(Handler handler, std::string host, std::uint16_t port,
                                ServeOptions options, ServerArgs args, Serving serving,
                                std::function<void(const Server&)> ready) {
  asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM, SIGHUP);
  Server server = co_await start_server(std::move(handler), host, port, options);
  Server metrics;
  if (!args.metrics.empty()) {
    metrics = co_await start_metrics(args.metrics, server, serving.protocol);
    std::fprintf(stderr, "uptls %s: metrics on http://%s/metrics\n", serving.command.c_str(),
                 endpoint_text(metrics.local_endpoint()).c_str());
  }
  ready(server);
  for (;;) {
    int signal = co_await signals.async_wait(asio::use_awaitable);
    if (signal != SIGHUP) break;
    if (!serving.make_tls) {
      std::fprintf(stderr, "uptls %s: SIGHUP: no certificate to reload\n", serving.command.c_str());
      continue;
    }
    try {
      server.set_tls(serving.make_tls());
      print_line("reloaded the TLS configuration");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "uptls %s: reload failed, keeping the old configuration: %s\n",
                   serving.command.c_str(), escape_control(e.what()).c_str());
    }
  }
  co_await server.stop(args.drain());
  co_await metrics.stop(std::chrono::milliseconds(100));
  co_return 0;
}

}  // namespace uptls::cli
