#include "metrics.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <iterator>
#include <optional>

#include "pingpong.hpp"

namespace uptls::cli {
namespace {

/// A label value, escaped as the format asks (backslash, quote, line feed).
std::string escaped(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Exposition {
 public:
  explicit Exposition(std::string_view protocol)
      : protocol_("protocol=\"" + escaped(protocol) + "\"") {}

  void family(const char* name, const char* type, const char* help) {
    text_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }

  void sample(const std::string& name, const std::string& labels, double value) {
    char number[64];
    std::snprintf(number, sizeof number, "%.17g", value);
    text_ += name + "{" + protocol_ + (labels.empty() ? "" : "," + labels) + "} " + number + "\n";
  }

  std::string take() { return std::move(text_); }

 private:
  std::string protocol_;
  std::string text_;
};

std::string label(const char* name, std::string_view value) {
  return std::string(name) + "=\"" + escaped(value) + "\"";
}

double as_number(std::uint64_t value) { return static_cast<double>(value); }

/// The request line of an HTTP request head, the rest of the head read and
/// dropped (at most 100 lines of 8 KiB); nullopt when the client left.
asio::awaitable<std::optional<std::string>> read_head(Stream& stream) {
  auto request = co_await stream.read_line(8192);
  if (!request) co_return std::nullopt;
  for (int fields = 0; fields < 100; ++fields) {
    auto line = co_await stream.read_line(8192);
    if (!line || line->empty()) break;
  }
  co_return request;
}

/// Answers GET /metrics; anything else gets 404. One request per
/// connection, whose whole head must come within 10 seconds (not each line).
asio::awaitable<void> answer(Stream stream, Server server, std::string protocol) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer deadline(co_await asio::this_coro::executor, std::chrono::seconds(10));
  auto got = co_await (read_head(stream) || deadline.async_wait(asio::use_awaitable));
  if (got.index() != 0 || !std::get<0>(got)) co_return;
  const std::string& request = *std::get<0>(got);
  bool wanted = request.starts_with("GET /metrics ") || request == "GET /metrics";
  std::string body = wanted ? prometheus_text(server.stats(), protocol) : "not found\n";
  std::string head =
      std::string(wanted ? "HTTP/1.1 200 OK" : "HTTP/1.1 404 Not Found") +
      "\r\nContent-Type: " + (wanted ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain") +
      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  co_await stream.write_all(head + body);
  co_await stream.close();
}

}  // namespace

std::string prometheus_text(const ServerStats& stats, std::string_view protocol) {
  Exposition out(protocol);
  out.family("uptls_connections_total", "counter", "Connections accepted and served.");
  out.sample("uptls_connections_total", "", as_number(stats.connections));
  out.family("uptls_connections_open", "gauge", "Connections open now.");
  out.sample("uptls_connections_open", "", as_number(stats.open));
  out.family("uptls_connections_refused_total", "counter",
             "Connections closed at once: over the connection limits or out of descriptors.");
  out.sample("uptls_connections_refused_total", "", as_number(stats.refused));
  out.family("uptls_handshakes_total", "counter",
             "TLS handshakes by outcome (full, resumed, failed), version and cipher; upgrade is "
             "true for a connection that began in plaintext (STARTTLS).");
  std::uint64_t upgrades = 0;
  for (const auto& h : stats.handshakes) {
    out.sample("uptls_handshakes_total",
               label("outcome", h.outcome) + "," + label("version", h.version) + "," +
                   label("cipher", h.cipher) + "," + label("upgrade", h.upgrade ? "true" : "false"),
               as_number(h.count));
    if (h.upgrade && h.outcome != "failed") upgrades += h.count;
  }
  out.family("uptls_upgrades_total", "counter",
             "Connections upgraded from plaintext to TLS in place (STARTTLS).");
  out.sample("uptls_upgrades_total", "", as_number(upgrades));
  out.family("uptls_failures_total", "counter",
             "Connections that ended in an error, by reason (an errc name, tls, system, other).");
  for (const auto& [reason, count] : stats.failures) {
    out.sample("uptls_failures_total", label("reason", reason), as_number(count));
  }
  out.family("uptls_received_bytes_total", "counter",
             "Application bytes received by connections that have ended.");
  out.sample("uptls_received_bytes_total", "", as_number(stats.bytes_received));
  out.family("uptls_sent_bytes_total", "counter",
             "Application bytes sent by connections that have ended.");
  out.sample("uptls_sent_bytes_total", "", as_number(stats.bytes_sent));
  out.family("uptls_handshake_duration_seconds", "histogram",
             "How long TLS handshakes took, from the first step to the last.");
  std::size_t i = 0;
  for (double bound : ServerStats::handshake_bounds) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", bound);
    std::uint64_t count = i < stats.handshake_buckets.size() ? stats.handshake_buckets[i] : 0;
    out.sample("uptls_handshake_duration_seconds_bucket", label("le", text), as_number(count));
    ++i;
  }
  out.sample("uptls_handshake_duration_seconds_bucket", label("le", "+Inf"),
             as_number(stats.handshake_count));
  out.sample("uptls_handshake_duration_seconds_sum", "", stats.handshake_seconds);
  out.sample("uptls_handshake_duration_seconds_count", "", as_number(stats.handshake_count));
  return out.take();
}

asio::awaitable<Server> start_metrics(std::string listen, Server server, std::string protocol) {
  auto [host, port] = split_host_port(listen);
  ServeOptions options;
  options.timeouts.idle = std::chrono::seconds(10);
  options.timeouts.write = std::chrono::seconds(10);
  options.max_connections = 64;
  Handler handler = [server, protocol](Stream stream) {
    return answer(std::move(stream), server, protocol);
  };
  co_return co_await start_server(std::move(handler), host, port, options);
}

}  // namespace uptls::cli
