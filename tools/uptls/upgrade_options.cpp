#include "upgrade_options.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <stdexcept>
#include <variant>

namespace uptls::cli {
namespace {

using namespace asio::experimental::awaitable_operators;

std::chrono::milliseconds seconds(double value) {
  return std::chrono::milliseconds(static_cast<long>(value * 1000));
}

/// A line within wait, or nothing when the wait ends first (nothing lost:
/// a read cut short keeps its bytes).
asio::awaitable<std::variant<std::optional<std::string>, std::monostate>> line_within(
    Stream& stream, std::chrono::milliseconds wait) {
  asio::steady_timer timer(stream.get_executor(), wait);
  co_return co_await (stream.read_line() || timer.async_wait(asio::use_awaitable));
}

/// --starttls-line: sends the line, then waits for --expect (or, without
/// it, briefly for anything the server says, which would be a refusal).
asio::awaitable<void> plaintext_dialogue(Stream& stream, const UpgradeArgs& args, const Say& say) {
  say("Sending " + args.starttls_line);
  co_await stream.write_all(args.starttls_line + "\n");
  if (!args.expect.empty()) {
    auto reply = co_await line_within(stream, seconds(args.expect_timeout));
    if (reply.index() == 1) {
      throw std::runtime_error("no reply to " + args.starttls_line + " within " +
                               std::to_string(args.expect_timeout) + " s (expected " + args.expect +
                               ")");
    }
    auto& line = std::get<0>(reply);
    if (!line) {
      throw std::runtime_error("the server closed the connection after " + args.starttls_line +
                               " (expected " + args.expect + ")");
    }
    say("Received: " + *line);
    if (*line != args.expect) {
      throw std::runtime_error("the server answered " + args.starttls_line + " with '" + *line +
                               "', not '" + args.expect + "'");
    }
    co_return;
  }
  // No reply agreed: a server that starts its handshake says nothing. The
  // wait also gives a server that loses bytes read with the STARTTLS line
  // (CPython 3.11's start_tls) time to switch to TLS first.
  if (args.reply_wait <= 0) co_return;
  auto reply = co_await line_within(stream, seconds(args.reply_wait));
  if (reply.index() == 1) co_return;
  auto& line = std::get<0>(reply);
  if (!line)
    throw std::runtime_error("the server closed the connection after " + args.starttls_line);
  throw std::runtime_error("the server answered " + args.starttls_line + " with '" + *line +
                           "'; if that is its go-ahead, pass --expect '" + *line + "'");
}

}  // namespace

void add_upgrade_options(CLI::App& command, UpgradeArgs& args) {
  auto* implicit = command.add_flag("--implicit-tls", args.implicit_tls,
                                    "TLS from the first byte (like openssl s_client)");
  auto* line = command.add_option("--starttls-line", args.starttls_line,
                                  "send this line in plaintext, then upgrade to TLS");
  implicit->excludes(line);
  command
      .add_option("--expect", args.expect,
                  "after --starttls-line, wait for this reply line before the handshake")
      ->needs(line);
  command.add_option("--expect-timeout", args.expect_timeout, "SECONDS to wait for --expect")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      .add_option("--reply-wait", args.reply_wait,
                  "without --expect: SECONDS to wait for an unexpected reply (a refusal) "
                  "before the handshake; 0: none")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

asio::awaitable<Stream> connect_upgraded(std::string host, std::uint16_t port,
                                         ConnectOptions options, const UpgradeArgs& args,
                                         const Say& say) {
  if (!args.implicit_tls && args.starttls_line.empty()) {
    throw std::invalid_argument(
        "say how TLS starts: --implicit-tls (TLS from the first byte), or --starttls-line LINE "
        "[--expect REPLY] (a plaintext line first)");
  }
  options.upgradeable = !args.implicit_tls;
  say("Connecting to " + host + " port " + std::to_string(port));
  Stream stream = co_await open_connection(host, port, options);
  if (!args.implicit_tls) {
    co_await plaintext_dialogue(stream, args, say);
    say("Upgrading the connection to TLS");
    co_await stream.start_tls();
  }
  co_return stream;
}

}  // namespace uptls::cli
