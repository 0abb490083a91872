// `uptls inspect`: seed 003's test_tls.py report, and more. As a client it
// completes the handshake whatever the verdict on the certificate and says
// what the verdict was; with --listen it reports each client that connects.

#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "json.hpp"
#include "pingpong.hpp"
#include "server_options.hpp"
#include "tls_options.hpp"
#include "upgrade_options.hpp"
#include "uptls/printable.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

struct InspectArgs {
  std::string address;
  std::string listen;
  ClientTlsArgs tls;
  UpgradeArgs upgrade;
  // Server side (--listen): the options clients do not have.
  std::string ca_out;
  std::vector<std::string> client_cas;
  bool request_client_cert = false;
  bool json = false;
  ServerArgs server;
};

/// One report: labelled values in order, then the chain.
struct Report {
  std::vector<std::pair<std::string, std::string>> lines;   // label, value
  std::vector<std::pair<std::string, std::string>> fields;  // JSON key, JSON value
  std::vector<tls::CertificateInfo> chain;

  void add(std::string label, std::string key, const std::string& value) {
    lines.emplace_back(std::move(label), value);
    fields.emplace_back(std::move(key), json_string(value));
  }
  void add(std::string label, std::string key, bool value) {
    lines.emplace_back(std::move(label), value ? "yes" : "no");
    fields.emplace_back(std::move(key), json_bool(value));
  }
  void add(std::string label, std::string key, std::size_t value) {
    lines.emplace_back(std::move(label), std::to_string(value));
    fields.emplace_back(std::move(key), std::to_string(value));
  }

  void print(bool json) const {
    if (json) {
      std::string out = "{";
      for (const auto& [key, value] : fields) out += json_string(key) + ": " + value + ", ";
      out += "\"chain\": [";
      for (std::size_t i = 0; i < chain.size(); ++i) {
        const auto& c = chain[i];
        out += (i ? ", " : "") + std::string("{\"subject\": ") + json_string(c.subject) +
               ", \"issuer\": " + json_string(c.issuer) +
               ", \"not_before\": " + json_string(c.not_before) +
               ", \"not_after\": " + json_string(c.not_after) +
               ", \"key\": " + json_string(c.key_type) +
               ", \"key_bits\": " + std::to_string(c.key_bits) +
               ", \"signature\": " + json_string(c.signature_algorithm) +
               ", \"is_ca\": " + json_bool(c.is_ca) +
               ", \"sha256\": " + json_string(c.sha256_fingerprint) + "}";
      }
      print_line(out + "]}");
      return;
    }
    // One report at once: with --listen, clients are served on several threads.
    std::vector<std::string> out;
    for (const auto& [label, value] : lines) {
      std::string padded = label;
      if (padded.size() < 36) padded.append(36 - padded.size(), '.');
      out.push_back(padded + " " + value);
    }
    for (std::size_t i = 0; i < chain.size(); ++i) {
      const auto& c = chain[i];
      std::string n = "[" + std::to_string(i) + "] ";
      out.push_back("Certificate " + n + "subject..... " + c.subject);
      out.push_back("                issuer...... " + c.issuer);
      out.push_back("                valid....... " + c.not_before + " to " + c.not_after);
      out.push_back("                key......... " + c.key_type + " (" +
                    std::to_string(c.key_bits) + " bits)" + (c.is_ca ? ", CA" : ""));
      out.push_back("                signature... " + c.signature_algorithm);
    }
    out.emplace_back();
    print_lines(out);
  }
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

/// The peer's certificate and names.
void add_certificate(Report& report, const Stream& stream) {
  auto certificate = stream.peer_certificate();
  report.add("Peer certificate", "peer_certificate",
             std::string(certificate ? "provided" : "none"));
  if (certificate) {
    std::vector<std::string> names = certificate->dns_names;
    names.insert(names.end(), certificate->ip_addresses.begin(), certificate->ip_addresses.end());
    report.add("Name(s) on peer certificate", "names", join(names));
  }
  report.chain = stream.peer_chain();
}

/// What was negotiated, the same on both sides.
void add_parameters(Report& report, const Stream& stream) {
  auto info = stream.tls_info();
  report.add("Protocol version negotiated", "protocol", info->version);
  report.add("Cipher chosen for this connection", "cipher", info->cipher);
  report.add("Cipher defined in TLS version", "cipher_version", info->cipher_version);
  report.add("Cipher key has this many bits", "secret_bits",
             static_cast<std::size_t>(info->secret_bits));
  report.add("Compression algorithm in use", "compression", info->compression);
  report.add("ALPN protocol agreed", "alpn", info->alpn.empty() ? "none" : info->alpn);
  report.add("Key-exchange group", "group", info->group.empty() ? "none" : info->group);
  report.add("Peer signature algorithm", "peer_signature",
             info->peer_signature.empty() ? "none" : info->peer_signature);
  report.add("Session resumed", "resumed", info->resumed);
}

asio::awaitable<int> inspect_a_server(std::shared_ptr<const InspectArgs> args, std::string host,
                                      std::uint16_t port) {
  ConnectOptions options = connect_options(args->tls);
  Say quiet = [](std::string_view) {};
  UpgradeArgs upgrade = args->upgrade;
  if (upgrade.starttls_line.empty() && upgrade.starttls.empty()) upgrade.implicit_tls = true;
  Stream stream = co_await connect_upgraded(host, port, options, upgrade, quiet);
  Report report;
  std::string asked = host + ":" + std::to_string(port);
  std::string reached = stream.peer();
  report.add("Address we want to talk to", "address",
             asked == reached ? asked : asked + " (" + reached + ")");
  add_certificate(report, stream);
  auto verdict = stream.verification();
  if (stream.peer_certificate()) {
    report.add("Whether name(s) match the hostname", "name_matches", verdict->name_matches);
  }
  report.add("Certificate verified", "verified", verdict->ok);
  report.add("Verification result", "verification", verdict->message);
  auto stats = options.tls->trust_store_stats();
  report.add("Certificates loaded of type crl", "trust_crl", stats.crl);
  report.add("Certificates loaded of type x509", "trust_x509", stats.x509);
  report.add("Certificates loaded of type x509_ca", "trust_x509_ca", stats.x509_ca);
  add_parameters(report, stream);
  auto info = stream.tls_info();
  report.add("OCSP status", "ocsp",
             info->ocsp_status.empty() ? "not asked (--ocsp)" : info->ocsp_status);
  co_await stream.close();
  report.print(args->json);
  co_return verdict->ok ? 0 : 1;
}

asio::awaitable<int> report_clients(std::shared_ptr<const InspectArgs> args) {
  ServerTlsArgs server_tls;
  server_tls.identity = args->tls.identity;
  server_tls.protocol = args->tls.protocol;
  server_tls.ca_out = args->ca_out;
  server_tls.client_cas = args->client_cas;
  server_tls.request_client_cert = args->request_client_cert;
  ServeOptions options;
  options.tls = make_server_config(server_tls);
  options.upgradeable = !args->upgrade.starttls_line.empty();
  bool json = args->json;
  std::string line = args->upgrade.starttls_line;
  Handler handler = [json, line](Stream stream) -> asio::awaitable<void> {
    if (!line.empty()) {
      while (auto request = co_await stream.read_line()) {
        if (*request == line) break;
      }
      co_await stream.start_tls();
    }
    Report report;
    report.add("Interface where we are listening", "interface",
               endpoint_text(stream.local_endpoint()));
    report.add("Client has connected from address", "client", stream.peer());
    add_certificate(report, stream);
    add_parameters(report, stream);
    report.print(json);
    co_await stream.close();
  };
  Serving serving;
  serving.protocol = "inspect";
  serving.command = "inspect";
  serving.what = "reporting clients";
  serving.listening_on_stderr = true;  // standard output carries the reports
  serving.make_tls = [server_tls] { return make_server_config(server_tls); };
  co_return co_await serve_until_stopped(handler, args->listen, std::move(options), args->server,
                                         std::move(serving));
}

/// 0: verified (or --listen ended); 1: not verified; 2: an error.
asio::awaitable<int> inspect(std::shared_ptr<const InspectArgs> args) {
  try {
    if (!args->listen.empty()) co_return co_await report_clients(args);
    if (args->address.empty()) {
      throw std::invalid_argument("give HOST:PORT, or --listen HOST:PORT");
    }
    auto resolved = std::make_shared<InspectArgs>(*args);
    auto [host, port] = resolve_target(args->address, resolved->upgrade);
    co_return co_await inspect_a_server(resolved, host, port);
  } catch (const std::exception& e) {
    std::string message = escape_control(e.what());
    std::fprintf(stderr, "uptls inspect: %s\n", message.c_str());
  }
  co_return 2;
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "inspect",
      "Connect and report the TLS session (seed 003's test_tls.py): the peer's certificate, "
      "names and chain, the verification verdict (the handshake completes and is reported "
      "even when verification fails), the trust store, protocol, cipher, bits, compression, "
      "ALPN, group, signature, resumption, OCSP. Exit 0 when the certificate verified, 1 when "
      "not, 2 on errors. With --listen, report each client that connects instead.");
  auto args = std::make_shared<InspectArgs>();
  args->tls.continue_unverified = true;
  command->add_option("address", args->address, "HOST:PORT of the server");
  command->add_option("--listen", args->listen,
                      "HOST:PORT: be the server, and report each client that connects");
  add_upgrade_options(*command, args->upgrade, 30);
  add_client_tls_options(*command, args->tls);
  command->add_option("--ca-out", args->ca_out,
                      "--listen without a certificate: write the made-up CA here");
  command->add_option("--client-ca", args->client_cas, "--listen: CA file for client certificates");
  command->add_flag("--request-client-cert", args->request_client_cert,
                    "--listen: ask clients for a certificate");
  command->add_flag("--json", args->json, "one JSON object per report, for scripts");
  add_server_options(*command, args->server,
                     "--listen: SECONDS a client may take to send a whole line",
                     "--listen: SECONDS a client may leave the reports waiting (it stopped "
                     "reading)");
  command->footer(
      "Examples:\n"
      "  uptls inspect example.org:443\n"
      "  uptls inspect 127.0.0.1:1060 --cafile ca.crt --servername localhost --json\n"
      "  uptls inspect 127.0.0.1:8000 --starttls-line STARTTLS --expect READY --cafile ca.pem\n"
      "  uptls inspect smtp://mail.example.org   (STARTTLS on port 25; imap://, ldap://, ...)\n"
      "  uptls inspect --listen 127.0.0.1:1060 --pem localhost.pem");
  command->callback(
      [args] { run_command_or_exit("inspect", inspect(args), args->server.process_threads()); });
}

}  // namespace uptls::cli
