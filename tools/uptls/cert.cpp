// `uptls cert`: a small local CA on disk (like mkcert or trustme), and the
// verdict a handshake would reach on a chain.

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>

#include "commands.hpp"
#include "files.hpp"
#include "uptls/error.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

namespace fs = std::filesystem;

struct CaArgs {
  std::string dir = ".";
  std::string name = "uptls local CA";
  bool force = false;
};

struct IssueArgs {
  std::string dir = ".";
  std::vector<std::string> names;
  bool client = false;
  int days = 365;
  std::string out;
  bool force = false;
};

struct VerifyArgs {
  std::string chain;
  std::vector<std::string> cafiles;
  std::string name;
  std::string ip;
  std::string at;
  std::string purpose = "server";
  std::vector<std::string> crls;
  bool crl_chain = false;
};

/// Refuses to overwrite any of paths unless force, before any work is
/// done; write_file refuses again at the moment of writing.
void check_free(const std::vector<fs::path>& paths, bool force) {
  for (const auto& path : paths) {
    if (!force && fs::exists(fs::symlink_status(path))) {
      throw std::runtime_error("'" + path.string() + "' exists; pass --force to overwrite it");
    }
  }
}

Existing existing(bool force) { return force ? Existing::replace : Existing::refuse; }

fs::path ca_cert_path(const std::string& dir) { return fs::path(dir) / "ca.pem"; }
fs::path ca_key_path(const std::string& dir) { return fs::path(dir) / "ca-key.pem"; }

/// A file name from a certificate name: "*.example.org" -> "_wildcard.example.org".
std::string file_base(std::string name) {
  if (name.rfind("*.", 0) == 0) name = "_wildcard" + name.substr(1);
  for (char& c : name) {
    if (c == ':' || c == '/' || c == '*') c = '_';
  }
  return name;
}

void describe(const tls::CertificateInfo& c, std::size_t index) {
  std::vector<std::string> names = c.dns_names;
  names.insert(names.end(), c.ip_addresses.begin(), c.ip_addresses.end());
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
  print_line("Certificate [" + std::to_string(index) + "]");
  print_line("  subject......... " + c.subject);
  print_line("  issuer.......... " + c.issuer);
  print_line("  names........... " + (joined.empty() ? std::string("none") : joined));
  print_line("  valid........... " + c.not_before + " to " + c.not_after);
  print_line("  key............. " + c.key_type + " (" + std::to_string(c.key_bits) + " bits)");
  print_line("  signature....... " + c.signature_algorithm);
  print_line("  CA.............. " + std::string(c.is_ca ? "yes" : "no"));
  print_line("  serial.......... " + c.serial);
  print_line("  SHA-256......... " + c.sha256_fingerprint);
}

/// "2027-01-31", "2027-01-31T12:00:00Z" or "@SECONDS" (since the epoch, UTC).
std::chrono::system_clock::time_point parse_time(const std::string& text) {
  if (!text.empty() && text.front() == '@') {
    return std::chrono::system_clock::from_time_t(std::stoll(text.substr(1)));
  }
  for (const char* format : {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"}) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), format, &tm);
    if (end && *end == '\0') return std::chrono::system_clock::from_time_t(::timegm(&tm));
  }
  throw std::invalid_argument("--at '" + text +
                              "': use 2027-01-31, 2027-01-31T12:00:00Z or @SECONDS (UTC)");
}

int make_ca(const CaArgs& args) {
  fs::create_directories(args.dir);
  check_free({ca_cert_path(args.dir), ca_key_path(args.dir)}, args.force);
  tls::DevAuthority ca(args.name);
  write_file(ca_key_path(args.dir), ca.ca_key_pem(), Readers::owner_only, existing(args.force));
  write_file(ca_cert_path(args.dir), ca.ca_pem(), Readers::anyone, existing(args.force));
  print_line("made CA '" + args.name + "': " + ca_cert_path(args.dir).string() + " (trust this), " +
             ca_key_path(args.dir).string() + " (keep it private)");
  return 0;
}

int issue(const IssueArgs& args) {
  auto ca = tls::DevAuthority::from_pem(read_text(ca_cert_path(args.dir)),
                                        read_text(ca_key_path(args.dir)));
  std::string base = args.out.empty() ? file_base(args.names.front()) : args.out;
  if (args.client && args.out.empty()) base += "-client";
  fs::path chain = fs::path(args.dir) / (base + ".pem");
  fs::path key = fs::path(args.dir) / (base + "-key.pem");
  check_free({chain, key}, args.force);
  tls::IssueOptions options;
  options.valid_until = std::chrono::hours(24) * args.days;
  options.server_auth = !args.client;
  options.client_auth = args.client;
  tls::Identity identity = ca.issue(args.names, options);
  write_file(key, identity.key_pem, Readers::owner_only, existing(args.force));
  write_file(chain, identity.chain_pem, Readers::anyone, existing(args.force));
  print_line(std::string("issued a ") + (args.client ? "client" : "server") + " certificate for " +
             [&] {
               std::string all;
               for (const auto& n : args.names) all += (all.empty() ? "" : ", ") + n;
               return all;
             }() +
             ": " + chain.string() + ", " + key.string() + " (valid " + std::to_string(args.days) +
             " days)");
  return 0;
}

int show(const std::string& path) {
  auto certificates = tls::read_certificates(read_text(path));
  for (std::size_t i = 0; i < certificates.size(); ++i) describe(certificates[i], i);
  return 0;
}

int verify(const VerifyArgs& args) {
  tls::VerifyOptions options;
  options.trust.ca_files = args.cafiles;
  options.trust.crl_files = args.crls;
  if (args.crl_chain) options.trust.crl_check = tls::CrlCheck::chain;
  options.name = args.ip.empty() ? args.name : args.ip;
  if (!args.at.empty()) options.at = parse_time(args.at);
  options.purpose = args.purpose == "client" ? tls::Purpose::client : tls::Purpose::server;
  auto verdict = tls::verify_chain(read_text(args.chain), options);
  print_line(verdict.ok ? "OK: " + verdict.message : "INVALID: " + verdict.message);
  return verdict.ok ? 0 : 1;
}

/// Runs fn; an exception is printed as "uptls cert: ..." and gives status 2.
template <typename Fn>
void run(Fn fn) {
  int status = 2;
  try {
    status = fn();
  } catch (const std::exception& e) {
    std::string message = escape_control(e.what());
    std::fprintf(stderr, "uptls cert: %s\n", message.c_str());
  }
  if (status != 0) throw CLI::RuntimeError(status);
}

}  // namespace

void add_cert_command(CLI::App& app) {
  auto* cert = app.add_subcommand(
      "cert",
      "A small local CA on disk (like mkcert): make a CA, issue server and client "
      "certificates, show certificates, and verify a chain as a handshake would. Keys are "
      "written readable by their owner only; existing files are kept unless --force.");
  cert->require_subcommand(1);

  auto ca_args = std::make_shared<CaArgs>();
  auto* ca = cert->add_subcommand("ca", "Make a CA: DIR/ca.pem and DIR/ca-key.pem.");
  ca->add_option("--dir", ca_args->dir, "where the CA lives")->capture_default_str();
  ca->add_option("--name", ca_args->name, "the CA's common name")->capture_default_str();
  ca->add_flag("--force", ca_args->force, "overwrite an existing CA");
  ca->callback([ca_args] { run([&] { return make_ca(*ca_args); }); });

  auto issue_args = std::make_shared<IssueArgs>();
  auto* issue_command = cert->add_subcommand(
      "issue", "Issue a certificate for DNS names and IP addresses with the CA in --dir.");
  issue_command->add_option("names", issue_args->names, "DNS names and IP addresses")->required();
  issue_command->add_option("--dir", issue_args->dir, "where the CA lives")->capture_default_str();
  issue_command->add_flag("--client", issue_args->client,
                          "a client certificate (clientAuth) instead of a server one");
  issue_command
      ->add_option("--days", issue_args->days, "days of validity (the CA is valid for a year)")
      ->check(CLI::Range(1, 3650))
      ->capture_default_str();
  issue_command->add_option("--out", issue_args->out,
                            "file name base (default: the first name; -client for --client)");
  issue_command->add_flag("--force", issue_args->force, "overwrite existing files");
  issue_command->callback([issue_args] { run([&] { return issue(*issue_args); }); });

  auto show_path = std::make_shared<std::string>();
  auto* show_command = cert->add_subcommand("show", "Describe every certificate in a file.");
  show_command->add_option("file", *show_path, "PEM or DER file")->required();
  show_command->callback([show_path] { run([&] { return show(*show_path); }); });

  auto verify_args = std::make_shared<VerifyArgs>();
  auto* verify_command = cert->add_subcommand(
      "verify",
      "The verdict a handshake would reach on a chain (leaf first), with the same rules and "
      "messages: 'OK: ...' and exit 0, or 'INVALID: ...' and exit 1 (2 on errors).");
  verify_command->add_option("chain", verify_args->chain, "PEM file, leaf first")->required();
  verify_command->add_option("--cafile", verify_args->cafiles,
                             "trust these CAs (default: the system store)");
  auto* name = verify_command->add_option("--name", verify_args->name, "the host name to check");
  auto* ip =
      verify_command->add_option("--ip", verify_args->ip, "the IP address to check (IPv4 or IPv6)")
          ->check([](const std::string& text) {
            asio::error_code not_ip;
            asio::ip::make_address(text, not_ip);
            return not_ip ? "'" + text + "' is not an IP address (use --name for a DNS name)"
                          : std::string();
          });
  name->excludes(ip);
  verify_command->add_option("--crl", verify_args->crls,
                             "check revocation against this CRL file (PEM), as check does");
  verify_command->add_flag("--crl-chain", verify_args->crl_chain,
                           "with --crl: check every certificate of the chain");
  verify_command->add_option("--at", verify_args->at,
                             "TIME to verify at: 2027-01-31, 2027-01-31T12:00:00Z or @SECONDS");
  verify_command->add_option("--purpose", verify_args->purpose, "server or client")
      ->check(CLI::IsMember({"server", "client"}))
      ->capture_default_str();
  verify_command->callback([verify_args] { run([&] { return verify(*verify_args); }); });

  cert->footer(
      "Examples:\n"
      "  uptls cert ca --dir ~/.uptls-ca\n"
      "  uptls cert issue localhost 127.0.0.1 ::1 --dir ~/.uptls-ca\n"
      "  uptls cert issue alice --client --dir ~/.uptls-ca\n"
      "  uptls cert show ~/.uptls-ca/localhost.pem\n"
      "  uptls cert verify ~/.uptls-ca/localhost.pem --cafile ~/.uptls-ca/ca.pem --name "
      "localhost");
}

}  // namespace uptls::cli
