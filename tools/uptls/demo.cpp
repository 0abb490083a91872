// `uptls demo`: the seed server and client in one process, on a fresh CA.

#include <asio/this_coro.hpp>
#include <vector>

#include "commands.hpp"
#include "pingpong.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

asio::awaitable<int> demo() {
  print_line("Making a development CA and a certificate for localhost, 127.0.0.1, ::1");
  tls::DevAuthority authority;
  auto server_config = tls::ServerConfig::make(authority.issue({"localhost", "127.0.0.1", "::1"}));
  tls::ClientOptions client;
  client.trust.ca_pem = authority.ca_pem();
  auto client_config = tls::ClientConfig::make(client);

  std::vector<std::string> server_errors;
  ServeOptions serve;
  serve.tls = server_config;
  serve.upgradeable = true;
  serve.log = [&](std::string_view line) { server_errors.emplace_back(line); };
  Handler handler = [](Stream stream) {
    return serve_pingpong(std::move(stream), [](std::string_view line) {
      print_line("  server: " + std::string(line));
    });
  };
  std::string host = "127.0.0.1";
  Server server = co_await start_server(handler, host, 0, serve);
  std::uint16_t port = server.local_endpoint().port();
  print_line("Starting server as upgradeable on 127.0.0.1:" + std::to_string(port));

  std::string client_error;
  try {
    ConnectOptions options;
    options.tls = client_config;
    options.server_name = "localhost";
    Say say = [](std::string_view line) { print_line("client: " + std::string(line)); };
    co_await run_pingpong_client(host, port, options, false, default_reply_wait, say);
  } catch (const std::exception& e) {
    client_error = e.what();
  }
  co_await server.stop();

  for (const auto& line : server_errors) print_line("server error: " + line);
  if (!client_error.empty()) print_line("client error: " + client_error);
  bool ok = client_error.empty() && server_errors.empty();
  print_line(ok ? "demo passed: PING/PONG in plaintext, STARTTLS, PING/PONG over TLS, QUIT"
                : "demo FAILED");
  co_return ok ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "demo",
      "Run the seed demo: a PING/PONG server on an ephemeral loopback port with a fresh CA, and "
      "the seed client against it (plaintext, STARTTLS, TLS, QUIT). Exits 0 only if every step "
      "held.");
  command->footer("Example:\n  uptls demo");
  command->callback([] { run_command_or_exit("demo", demo()); });
}

}  // namespace uptls::cli
