// uptls: the command-line tool.

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "uptls/printable.hpp"
#include "uptls/version.hpp"

#include <sys/resource.h>

namespace uptls::cli {

int run_command(const std::string& command, asio::awaitable<int> body, unsigned threads) {
  asio::io_context io(static_cast<int>(threads));
  int status = 1;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr error, int result) {
    if (!error) {
      status = result;
      return;
    }
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::cerr << "uptls " << command << ": " << escape_control(e.what()) << std::endl;
    }
    // Anything left (a server's accept loop, say) must not keep us running.
    io.stop();
  });
  std::vector<std::thread> helpers;
  for (unsigned i = 1; i < threads; ++i) helpers.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& helper : helpers) helper.join();
  return status;
}

void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

void run_command_or_exit(const std::string& command, asio::awaitable<int> body, unsigned threads) {
  if (int status = run_command(command, std::move(body), threads); status != 0) {
    throw CLI::RuntimeError(status);
  }
}

unsigned default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

namespace {
std::mutex output;

void write_line(std::string_view line) {
  // Lines quote what peers sent: no control byte reaches the terminal. The
  // library's messages quote peer bytes escaped already; escaping their
  // backslashes again would print "\\r\\n" for a CRLF.
  std::string safe = escape_control(line);
  std::fwrite(safe.data(), 1, safe.size(), stdout);
  std::fputc('\n', stdout);
}
}  // namespace

void print_line(std::string_view line) {
  std::lock_guard lock(output);
  write_line(line);
  std::fflush(stdout);
}

void print_lines(const std::vector<std::string>& lines) {
  std::lock_guard lock(output);
  for (const auto& line : lines) write_line(line);
  std::fflush(stdout);
}

}  // namespace uptls::cli

int main(int argc, char** argv) {
  CLI::App app{"uptls: TCP streams upgraded to TLS in place (STARTTLS), safe by default."};
  app.set_version_flag(
      "--version",
      "uptls " + std::string(uptls::version()) + "\n" + std::string(uptls::tls::openssl_version()),
      "Print the versions of uptls and of the OpenSSL it runs with, and exit");
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  uptls demo\n"
      "  uptls serve pingpong --listen 127.0.0.1:10001 --ca-out ca.pem\n"
      "  uptls client pingpong 127.0.0.1:10001 --cafile ca.pem --servername localhost\n"
      "  uptls connect example.org:443 --implicit-tls");
  uptls::cli::add_demo_command(app);
  uptls::cli::add_serve_command(app);
  uptls::cli::add_client_command(app);
  uptls::cli::add_echo_commands(*app.get_subcommand("serve"), *app.get_subcommand("client"));
  uptls::cli::add_connect_command(app);
  uptls::cli::add_features_command(app);
  CLI::App* check = uptls::cli::add_check_command(app);
  uptls::cli::add_inspect_command(app);
  uptls::cli::add_cert_command(app);
  uptls::cli::add_proxy_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a command's own exit status
  } catch (const CLI::ParseError& e) {
    if (check->parsed() && e.get_exit_code() != 0) {
      uptls::cli::print_line(std::string("UNKNOWN: ") + e.what());
      return uptls::cli::check_unknown;
    }
    return app.exit(e);
  }
  return 0;
}
