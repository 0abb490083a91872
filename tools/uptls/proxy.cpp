// `uptls proxy`: seed 002's HTTPS proxy. CONNECT tunnels relayed untouched,
// or intercepted with certificates minted per host, as mitmproxy does.

#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

#include "commands.hpp"
#include "files.hpp"
#include "json.hpp"
#include "pingpong.hpp"
#include "server_options.hpp"
#include "uptls/proxy.hpp"
#include "uptls/uptls.hpp"

namespace uptls::cli {
namespace {

struct ProxyArgs {
  std::string listen = "127.0.0.1:8080";
  bool intercept = false;
  std::string ca_cert;
  std::string ca_key;
  std::string ca_out;
  std::string answer;
  bool answer_given = false;
  std::vector<std::string> upstream_cafiles;
  bool upstream_insecure = false;
  std::vector<std::uint16_t> allow_ports;
  std::string auth;
  std::string log_json;
  bool quiet = false;
  double connect_timeout = 10;
  std::size_t certificates_kept = 1024;
  ServerArgs server;
  std::string send_proxy;
};

// The CA that signs minted certificates: given, kept beside --ca-out from
// an earlier run, or made now (and written to --ca-out).
std::shared_ptr<const tls::DevAuthority> load_authority(const ProxyArgs& args) {
  if (!args.ca_cert.empty() || !args.ca_key.empty()) {
    if (args.ca_cert.empty() || args.ca_key.empty()) {
      throw std::runtime_error("--ca-cert and --ca-key go together");
    }
    return std::make_shared<const tls::DevAuthority>(
        tls::DevAuthority::from_pem(read_text(args.ca_cert), read_text(args.ca_key)));
  }
  if (!args.ca_out.empty()) {
    return std::make_shared<const tls::DevAuthority>(
        kept_authority(args.ca_out, args.ca_out + ".key", "uptls proxy CA", print_line));
  }
  std::fprintf(stderr,
               "uptls proxy: intercepting with a CA made for this run only: pass --ca-out FILE "
               "so clients can trust it\n");
  return std::make_shared<const tls::DevAuthority>("uptls proxy CA");
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds_now = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&seconds_now, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis.count()));
  return text;
}

// Where events go: a line each on standard output, JSON lines to a file.
class EventLog {
 public:
  EventLog(bool quiet, const std::string& json_path) : quiet_(quiet) {
    if (!json_path.empty()) {
      json_ = std::fopen(json_path.c_str(), "a");
      if (!json_) throw std::runtime_error("cannot open '" + json_path + "' for the JSON log");
    }
  }
  ~EventLog() {
    if (json_) std::fclose(json_);
  }
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void write(const ProxyEvent& event) {
    double ms = static_cast<double>(event.duration.count()) / 1000.0;
    if (!quiet_) {
      char timing[64];
      std::snprintf(timing, sizeof timing, "%.2f ms", ms);
      std::string line = event.mode + " " + event.client + " " + event.method + " " + event.url +
                         " -> " + (event.status ? std::to_string(event.status) : "-") + " (" +
                         std::to_string(event.request_bytes) + " B up, " +
                         std::to_string(event.response_bytes) + " B down, " + timing + ")";
      if (!event.error.empty()) line += ": " + event.error;
      print_line(line);
    }
    if (json_) {
      char duration[32];
      std::snprintf(duration, sizeof duration, "%.3f", ms);
      std::string line =
          "{\"time\":" + json_string(utc_now()) + ",\"client\":" + json_string(event.client) +
          ",\"mode\":" + json_string(event.mode) + ",\"method\":" + json_string(event.method) +
          ",\"url\":" + json_string(event.url) + ",\"status\":" + std::to_string(event.status) +
          ",\"request_bytes\":" + std::to_string(event.request_bytes) +
          ",\"response_bytes\":" + std::to_string(event.response_bytes) +
          ",\"duration_ms\":" + duration + ",\"error\":" + json_string(event.error) + "}\n";
      std::lock_guard lock(mutex_);
      std::fwrite(line.data(), 1, line.size(), json_);
      std::fflush(json_);
    }
  }

 private:
  bool quiet_;
  std::FILE* json_ = nullptr;
  std::mutex mutex_;
};

asio::awaitable<int> run_proxy(std::shared_ptr<const ProxyArgs> args) {
  ProxyOptions options;
  if (!args->allow_ports.empty()) options.connect_ports = args->allow_ports;
  options.basic_auth = args->auth;
  if (args->answer_given) options.answer = args->answer;
  bool intercepting = args->intercept || args->answer_given;
  if (!intercepting && (!args->ca_cert.empty() || !args->ca_key.empty() || !args->ca_out.empty())) {
    throw std::runtime_error("--ca-cert, --ca-key and --ca-out are for --intercept or --answer");
  }
  if (intercepting) options.authority = load_authority(*args);
  options.certificates_kept = args->certificates_kept;
  if (!args->upstream_cafiles.empty() || args->upstream_insecure) {
    tls::ClientOptions upstream;
    upstream.protocol.alpn = {"http/1.1"};
    upstream.trust.ca_files = args->upstream_cafiles;
    if (args->upstream_insecure) {
      std::fprintf(stderr,
                   "WARNING: --upstream-insecure: origins' certificates are NOT verified; "
                   "anyone can impersonate them. Use only for debugging.\n");
      upstream.verification = tls::PeerVerification::dangerous_none;
    }
    options.upstream_tls = tls::ClientConfig::make(upstream);
  }
  options.connect_timeout = seconds(args->connect_timeout);
  if (!args->send_proxy.empty()) options.send_proxy = args->send_proxy == "v1" ? 1 : 2;
  auto events = std::make_shared<EventLog>(args->quiet, args->log_json);
  options.log = [events](const ProxyEvent& event) { events->write(event); };

  Serving serving;
  serving.protocol = "proxy";
  serving.command = "proxy";
  serving.what = args->answer_given  ? "answering itself"
                 : options.authority ? "intercepting"
                                     : "tunnelling";
  co_return co_await serve_until_stopped(proxy_handler(options), args->listen, ServeOptions(),
                                         args->server, std::move(serving));
}

}  // namespace

void add_proxy_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "proxy",
      "An HTTP/1.1 forward proxy (seed 002): CONNECT tunnels relayed untouched, or intercepted "
      "(--intercept) with certificates minted for each host by a CA the clients trust, each "
      "request inside logged; http:// requests forwarded; a status page for requests to the "
      "proxy itself. SIGINT or SIGTERM stop it gracefully.");
  auto args = std::make_shared<ProxyArgs>();
  command->add_option("--listen", args->listen, "HOST:PORT to listen on; port 0 picks one")
      ->capture_default_str();
  command->add_flag("--intercept", args->intercept,
                    "intercept CONNECT tunnels: answer the client's handshake with a minted "
                    "certificate, reach the origin with verified TLS, log each request");
  command
      ->add_option("--certificates-kept", args->certificates_kept,
                   "how many minted certificates are kept for later tunnels, for all hosts and "
                   "names together (about 20 KiB each)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--ca-cert", args->ca_cert,
                      "the CA certificate (PEM) that signs minted ones");
  command->add_option("--ca-key", args->ca_key, "that CA's private key (PEM)");
  command->add_option("--ca-out", args->ca_out,
                      "without --ca-cert: the CA kept here (FILE, its key in FILE.key), made on "
                      "the first run; trust FILE in the clients");
  command
      ->add_option("--answer", args->answer,
                   "answer every intercepted or forwarded request with 200 and this body, "
                   "without going upstream (implies --intercept)")
      ->each([args](const std::string&) { args->answer_given = true; });
  command->add_option("--upstream-cafile", args->upstream_cafiles,
                      "trust this CA file for origins instead of the system store");
  command->add_flag("--upstream-insecure", args->upstream_insecure,
                    "DANGEROUS: accept any certificate from origins (debugging only)");
  command
      ->add_option("--allow-port", args->allow_ports,
                   "a port CONNECT may reach (repeat for more; default: 443 only)")
      ->check(CLI::Range(1, 65535));
  command->add_option("--auth", args->auth,
                      "USER:PASSWORD clients must give as Basic proxy credentials (407 otherwise)");
  command->add_option("--log-json", args->log_json,
                      "append one JSON object per request or tunnel to FILE");
  command->add_flag("--quiet", args->quiet, "do not print a line per request or tunnel");
  command
      ->add_option("--send-proxy", args->send_proxy,
                   "send a PROXY protocol header (v1 or v2) first on every connection to an "
                   "origin, naming the proxy's client (for an origin with --proxy-protocol)")
      ->check(CLI::IsMember({"v1", "v2"}));
  add_server_options(*command, args->server,
                     "SECONDS a client may take to send a request, and a tunnel may stay silent "
                     "both ways",
                     "SECONDS a client or an origin may leave the proxy's writes waiting (it "
                     "stopped reading)");
  command->add_option("--connect-timeout", args->connect_timeout, "SECONDS to reach an origin")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->footer(
      "Examples:\n"
      "  uptls proxy --listen 127.0.0.1:8080\n"
      "      curl --proxy http://127.0.0.1:8080 https://example.org/\n"
      "  uptls proxy --listen 127.0.0.1:8080 --intercept --ca-out ca.pem --log-json log.jsonl\n"
      "      curl --proxy http://127.0.0.1:8080 --cacert ca.pem https://example.org/\n"
      "  uptls proxy --listen 127.0.0.1:8082 --answer OK --ca-out ca.pem   (seed 002)\n"
      "      curl --proxy http://127.0.0.1:8082 --cacert ca.pem https://dummy.org/\n"
      "  uptls proxy --listen 127.0.0.1:8080 --allow-port 443 --allow-port 8443 --auth me:secret");
  command->callback(
      [args] { run_command_or_exit("proxy", run_proxy(args), args->server.process_threads()); });
}

}  // namespace uptls::cli
