#pragma once
// The subcommands of `uptls`, one file each.

#include <CLI/CLI.hpp>
#include <asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace uptls::cli {

void add_demo_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_client_command(CLI::App& app);
void add_connect_command(CLI::App& app);
void add_features_command(CLI::App& app);
/// Returns the command: its parse errors are UNKNOWN (exit status
/// check_unknown), as the monitoring plugin convention wants.
CLI::App* add_check_command(CLI::App& app);
/// The exit status of a check that could not run (options it cannot use).
inline constexpr int check_unknown = 3;
void add_inspect_command(CLI::App& app);
void add_echo_commands(CLI::App& serve_command, CLI::App& client_command);
void add_cert_command(CLI::App& app);
void add_proxy_command(CLI::App& app);

/// Runs a coroutine on a fresh io_context, served by threads threads, until
/// it completes and returns its exit status; an exception is printed as
/// "uptls <command>: <message>" and gives status 1.
int run_command(const std::string& command, asio::awaitable<int> body, unsigned threads = 1);

/// run_command for a CLI11 callback: a status other than 0 becomes the
/// process's exit status.
/// @throws CLI::RuntimeError with that status.
void run_command_or_exit(const std::string& command, asio::awaitable<int> body,
                         unsigned threads = 1);

/// Raises the soft limit on open descriptors to the hard limit, as servers
/// that hold many connections do (nginx, Go programs); the library itself
/// leaves process limits alone.
void raise_descriptor_limit();

/// The default of --threads: the number of cores.
unsigned default_threads();

/// Prints one line to standard output at once (tests read it while we run);
/// lines from several threads do not interleave.
void print_line(std::string_view line);
/// Prints lines at once: no other line comes between them.
void print_lines(const std::vector<std::string>& lines);

}  // namespace uptls::cli
