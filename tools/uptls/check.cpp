// `uptls check`: is a server's certificate good? (Twisted's
// check_server_certificate), for people and for monitoring.

#include <cstdio>
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

// The monitoring plugin convention that Nagios, Icinga and Sensu read: the
// exit status and the first word of the one line printed.
constexpr int ok = 0;
constexpr int warning = 1;              // good, but expiring within --warn-days
constexpr int critical = 2;             // a bad certificate, no connection, no handshake
constexpr int unknown = check_unknown;  // the check could not run as asked

struct CheckArgs {
  std::string address;
  ClientTlsArgs tls;
  UpgradeArgs upgrade;
  double warn_days = 0;
  bool perfdata = false;
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

/// Whether a failure is the check's own (options that cannot work) rather
/// than the server's.
bool of_the_check(const std::error_code& code) {
  return code == errc::invalid_config || code == errc::invalid_argument;
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
    bool check_fault = of_the_check(e.code());
    print_line(std::string(check_fault ? "UNKNOWN: " : "CRITICAL: ") + e.what());
    co_return check_fault ? unknown : critical;
  } catch (const std::exception& e) {
    print_line(std::string("UNKNOWN: ") + e.what());
    co_return unknown;
  }
  auto certificate = stream->peer_certificate();
  co_await stream->close();
  if (!certificate) {
    print_line("CRITICAL: the server presented no certificate");
    co_return critical;
  }
  auto expiry = parse_time(certificate->not_after);
  double left = expiry ? std::difftime(*expiry, std::time(nullptr)) / 86400.0 : 0;
  std::string days = std::to_string(static_cast<long>(left));
  std::string perfdata;
  if (args->perfdata) {
    char value[32];
    std::snprintf(value, sizeof value, "%.1f", left);
    perfdata = std::string(" | days_left=") + value + "d;";
    if (args->warn_days > 0) perfdata += std::to_string(static_cast<long>(args->warn_days));
    perfdata += ";0";
  }
  if (args->warn_days > 0 && (!expiry || left < args->warn_days)) {
    print_line("WARNING: expires in " + days + " days (under " +
               std::to_string(static_cast<long>(args->warn_days)) + "): " + describe(*certificate) +
               perfdata);
    co_return warning;
  }
  print_line("OK: " + describe(*certificate) + perfdata);
  co_return ok;
}

}  // namespace

CLI::App* add_check_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "check",
      "Check a server's certificate as a client would (chain, name, validity), as a monitoring "
      "plugin does (Nagios, Icinga, Sensu): one line, 'OK: <certificate>', 'WARNING: expires in "
      "N days ...', 'CRITICAL: <reason>' or 'UNKNOWN: <reason>'. Exit status: 0 OK, 1 WARNING "
      "(good, but expiring within --warn-days), 2 CRITICAL (a bad certificate, no connection, "
      "no handshake), 3 UNKNOWN (options the check cannot run with).");
  auto args = std::make_shared<CheckArgs>();
  command->add_option("address", args->address, "HOST[:PORT] (port 443 by default)")->required();
  add_upgrade_options(*command, args->upgrade, 30);
  add_client_tls_options(*command, args->tls);
  command
      ->add_option("--warn-days", args->warn_days,
                   "DAYS: a certificate expiring sooner is a WARNING (exit status 1)")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--perfdata", args->perfdata,
                    "end the line with performance data: ' | days_left=12.5d;WARN;0'");
  command->footer(
      "Examples:\n"
      "  uptls check www.example.org\n"
      "  uptls check mail.example.org:10001 --starttls-line STARTTLS --warn-days 21\n"
      "  uptls check smtp://mail.example.org   (STARTTLS on port 25; imap://, ldap://, ...)\n"
      "  uptls check 127.0.0.1:10443 --cafile ca.pem --servername localhost");
  command->callback([args] { run_command_or_exit("check", check(args)); });
  return command;
}

}  // namespace uptls::cli
