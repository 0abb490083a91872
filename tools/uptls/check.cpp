// `uptls check`: is a server's certificate good? (Twisted's
// check_server_certificate), for people and for monitoring.

#include <ctime>
#include <memory>

#include "commands.hpp"
#include "pingpong.hpp"
#include "tls_options.hpp"
#include "upgrade_options.hpp"
#include "uptls/error.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

// Exit statuses, documented in --help and the README.
constexpr int good = 0;
constexpr int bad_certificate = 1;
constexpr int connection_failed = 2;
constexpr int expires_soon = 3;

struct CheckArgs {
  std::string address;
  ClientTlsArgs tls;
  UpgradeArgs upgrade;
  double warn_days = 0;
};

/// "Nov 23 05:00:00 2026 GMT" (OpenSSL's form) as seconds since the epoch.
std::optional<std::time_t> parse_time(const std::string& text) {
  std::tm tm{};
  if (!::strptime(text.c_str(), "%b %d %H:%M:%S %Y GMT", &tm)) return std::nullopt;
  return ::timegm(&tm);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string describe(const tls::CertificateInfo& certificate) {
  std::vector<std::string> names = certificate.dns_names;
  names.insert(names.end(), certificate.ip_addresses.begin(), certificate.ip_addresses.end());
  return "<Certificate Subject=" + certificate.subject + " Issuer=" + certificate.issuer +
         " Names=[" + join(names) + "] Expires=" + certificate.not_after + ">";
}

asio::awaitable<int> check(std::shared_ptr<const CheckArgs> args) {
  UpgradeArgs upgrade = args->upgrade;
  Say quiet = [](std::string_view) {};
  std::optional<Stream> stream;
  try {
    auto [host, port] = resolve_target(args->address, upgrade, 443);
    if (upgrade.starttls_line.empty() && upgrade.starttls.empty()) upgrade.implicit_tls = true;
    ConnectOptions options = connect_options(args->tls);
    Stream connected = co_await connect_upgraded(host, port, options, upgrade, quiet);
    stream.emplace(std::move(connected));
  } catch (const std::system_error& e) {
    bool certificate = e.code().category() == verify_category();
    print_line(std::string(certificate ? "BAD: " : "ERROR: ") + e.what());
    co_return certificate ? bad_certificate : connection_failed;
  } catch (const std::exception& e) {
    print_line(std::string("ERROR: ") + e.what());
    co_return connection_failed;
  }
  auto certificate = stream->peer_certificate();
  co_await stream->close();
  if (!certificate) {
    print_line("BAD: the server presented no certificate");
    co_return bad_certificate;
  }
  if (args->warn_days > 0) {
    auto expiry = parse_time(certificate->not_after);
    double left = expiry ? std::difftime(*expiry, std::time(nullptr)) / 86400.0 : 0;
    if (!expiry || left < args->warn_days) {
      print_line("WARN: expires in " + std::to_string(static_cast<int>(left)) + " days (under " +
                 std::to_string(static_cast<int>(args->warn_days)) +
                 "): " + describe(*certificate));
      co_return expires_soon;
    }
  }
  print_line("OK: " + describe(*certificate));
  co_return good;
}

}  // namespace

void add_check_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "check",
      "Check a server's certificate as a client would (chain, name, validity): prints "
      "'OK: <certificate>', 'BAD: <reason>' or 'ERROR: <reason>'. Exit status: 0 good, 1 bad "
      "certificate, 2 no connection, no handshake or bad options, 3 good but expiring within "
      "--warn-days.");
  auto args = std::make_shared<CheckArgs>();
  command->add_option("address", args->address, "HOST[:PORT] (port 443 by default)")->required();
  add_upgrade_options(*command, args->upgrade, 30);
  add_client_tls_options(*command, args->tls);
  command
      ->add_option("--warn-days", args->warn_days,
                   "DAYS: a certificate expiring sooner is a warning (exit status 3)")
      ->check(CLI::NonNegativeNumber);
  command->footer(
      "Examples:\n"
      "  uptls check www.example.org\n"
      "  uptls check mail.example.org:10001 --starttls-line STARTTLS --warn-days 21\n"
      "  uptls check smtp://mail.example.org   (STARTTLS on port 25; imap://, ldap://, ...)\n"
      "  uptls check 127.0.0.1:10443 --cafile ca.pem --servername localhost");
  command->callback([args] { run_command_or_exit("check", check(args)); });
}

}  // namespace uptls::cli
