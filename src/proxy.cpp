#include "uptls/proxy.hpp"

#include <openssl/crypto.h>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstring>
#include <memory>

#include "ascii.hpp"
#include "base64.hpp"
#include "host_name.hpp"
#include "lru_cache.hpp"
#include "uptls/connect.hpp"
#include "uptls/error.hpp"
#include "uptls/relay.hpp"

namespace uptls {
namespace {

using Clock = std::chrono::steady_clock;

// A host and port from a CONNECT target or a URL.
struct Target {
  std::string host;
  std::uint16_t port = 0;

  // host:port as a URL or CONNECT target writes it ([::1]:443).
  std::string text(bool omit_port_for = false, std::uint16_t default_port = 0) const {
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (!omit_port_for || port != default_port) out += ":" + std::to_string(port);
    return out;
  }
};

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

// "host:port", "[v6]:port", or "host" when default_port is not 0.
std::optional<Target> parse_authority(std::string_view text, std::uint16_t default_port) {
  Target target;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    target.host = text.substr(1, close - 1);
    if (!detail::is_ip_literal(target.host) || target.host.find(':') == std::string::npos) {
      return std::nullopt;
    }
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
    }
  } else {
    std::size_t colon = text.rfind(':');
    target.host = text.substr(0, colon);
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
    if (target.host.empty() || target.host.size() > 253 ||
        !std::all_of(target.host.begin(), target.host.end(), is_host_char)) {
      return std::nullopt;
    }
  }
  if (port_text.empty()) {
    if (default_port == 0 || text.back() == ':') return std::nullopt;
    target.port = default_port;
    return target;
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return std::nullopt;
  }
  target.port = static_cast<std::uint16_t>(port);
  return target;
}

// An absolute-form request target: http://host[:port]/path?query.
struct Url {
  bool tls = false;
  Target target;
  std::string path;
};

std::optional<Url> parse_absolute(std::string_view text) {
  Url url;
  std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string_view scheme = text.substr(0, scheme_end);
  if (!detail::iequals(scheme, "http") && !detail::iequals(scheme, "https")) return std::nullopt;
  url.tls = detail::iequals(scheme, "https");
  std::string_view rest = text.substr(scheme_end + 3);
  std::size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  auto target = parse_authority(authority, url.tls ? 443 : 80);
  if (!target) return std::nullopt;
  url.target = std::move(*target);
  url.path = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (url.path.front() == '?') url.path.insert(0, "/");
  return url;
}

const char* reason_of(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 407:
      return "Proxy Authentication Required";
    case 431:
      return "Request Header Fields Too Large";
    case 502:
      return "Bad Gateway";
    default:
      return "Error";
  }
}

// A response the proxy makes itself; the body is text, left out (but for
// its length) when the request was HEAD.
std::string make_response(int status, std::string_view body, bool close,
                          std::string_view extra_fields = {}, bool head_only = false) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_fields;
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only) out += body;
  return out;
}

[[noreturn]] void rethrow_named(const char* doing, const std::system_error& e) {
  throw Error(e.code(), std::string(doing) + ": " + e.what());
}

bool is_error(const http::Outcome& outcome) {
  return outcome.parse == http::Parse::invalid || outcome.parse == http::Parse::too_large;
}

// Reads a head line by line, so that the bytes after it (a body, a
// ClientHello pipelined after CONNECT) stay in the stream. Returns the head
// with CRLF line ends; empty at a clean end before its first byte.
asio::awaitable<std::string> read_head(Stream& stream, const http::Limits& limits,
                                       bool skip_empty) {
  std::string head;
  std::size_t lines = 0;
  std::size_t skipped = 0;
  // The idle timeout bounds the whole head, not each of its lines.
  auto idle = stream.timeouts().idle;
  auto deadline = idle.count() > 0 ? std::chrono::steady_clock::now() + idle
                                   : std::chrono::steady_clock::time_point::max();
  for (;;) {
    std::optional<std::string> line = co_await stream.read_line(limits.max_line, deadline);
    if (!line) {
      if (head.empty()) co_return head;
      throw Error(errc::unexpected_eof, "the connection ended in the middle of a head");
    }
    if (head.empty() && line->empty() && skip_empty) {
      if (++skipped > 8) throw Error(errc::protocol_error, "empty lines instead of a request");
      continue;
    }
    head += *line;
    head += "\r\n";
    if (line->empty()) co_return head;
    if (head.size() > limits.max_head || ++lines > limits.max_fields + 1) {
      throw Error(errc::line_too_long, "the head is too large");
    }
  }
}

constexpr std::size_t body_buffer_size = 64 * 1024;
constexpr std::size_t max_prefix = 16 * 1024;

// The two ends of a body's copy, named for messages ("the client").
struct Ends {
  Stream& from;
  const char* from_name;
  // Null: the body is read and dropped.
  Stream* to;
  const char* to_name;
};

// Copies one body, untouched but for bare LFs in chunk lines; counts the
// payload bytes passed on in `moved` as it goes, so that a failure still
// says how far it came. `writing` says which end a failure came from.
asio::awaitable<void> copy_body_between(Ends ends, const http::Framing& framing,
                                        const http::Limits& limits, std::uint64_t& moved,
                                        bool& writing) {
  Stream& from = ends.from;
  auto buffer = std::make_unique_for_overwrite<char[]>(body_buffer_size + max_prefix);
  char* data = buffer.get() + max_prefix;
  auto pass_on = [&](const char* start, std::size_t n) -> asio::awaitable<void> {
    if (!ends.to) co_return;
    writing = true;
    co_await ends.to->write_all(asio::const_buffer(start, n));
    writing = false;
  };
  switch (framing.kind) {
    case http::BodyKind::none:
      co_return;
    case http::BodyKind::length: {
      std::uint64_t remaining = framing.length;
      while (remaining > 0) {
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining, body_buffer_size));
        std::size_t n = co_await from.read_some(asio::buffer(data, want));
        if (n == 0) {
          throw Error(errc::unexpected_eof,
                      "the body ended after " + std::to_string(framing.length - remaining) +
                          " of its " + std::to_string(framing.length) + " bytes");
        }
        co_await pass_on(data, n);
        remaining -= n;
        moved += n;
      }
      co_return;
    }
    case http::BodyKind::until_close:
      for (;;) {
        std::size_t n = co_await from.read_some(asio::buffer(data, body_buffer_size));
        if (n == 0) co_return;
        co_await pass_on(data, n);
        moved += n;
      }
    case http::BodyKind::chunked:
      break;
  }
  // Chunk lines are read as lines and data with reads bounded by the chunk,
  // so no byte of what follows the body is taken from the stream. Lines
  // wait in front of the data and go out with it in one write.
  http::ChunkedScanner scanner(limits);
  std::size_t prefix = 0;
  for (;;) {
    if (std::uint64_t remaining = scanner.data_remaining(); remaining > 0) {
      std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining, body_buffer_size));
      std::size_t n = co_await from.read_some(asio::buffer(data, want));
      if (n == 0) throw Error(errc::unexpected_eof, "the chunked body ended inside a chunk");
      scanner.feed(std::string_view(data, n));
      co_await pass_on(data - prefix, prefix + n);
      prefix = 0;
      moved = scanner.payload();
      continue;
    }
    std::optional<std::string> line = co_await from.read_line(limits.max_line);
    if (!line) throw Error(errc::unexpected_eof, "the chunked body ended before its last chunk");
    line->append("\r\n");
    http::Outcome outcome = scanner.feed(*line);
    if (is_error(outcome)) throw Error(errc::protocol_error, outcome.message);
    if (prefix + line->size() > max_prefix) {
      co_await pass_on(data - prefix, prefix);
      prefix = 0;
    }
    if (line->size() > max_prefix) {
      co_await pass_on(line->data(), line->size());
    } else {
      // The waiting lines end where the data starts: move them forward.
      std::memmove(data - prefix - line->size(), data - prefix, prefix);
      std::memcpy(data - line->size(), line->data(), line->size());
      prefix += line->size();
    }
    if (outcome.parse == http::Parse::done) {
      co_await pass_on(data - prefix, prefix);
      co_return;
    }
  }
}

// Copies one body (see copy_body_between); a failure names the end it came
// from: "reading the client: ...", "writing to the upstream: ...".
asio::awaitable<void> copy_body(Ends ends, const http::Framing& framing, const http::Limits& limits,
                                std::uint64_t& moved) {
  moved = 0;
  if (framing.kind == http::BodyKind::none) co_return;
  bool writing = false;
  std::string failure;
  std::error_code code;
  try {
    co_await copy_body_between(ends, framing, limits, moved, writing);
    co_return;
  } catch (const std::system_error& e) {
    code = e.code();
    failure = std::string(writing ? "writing to " : "reading ") +
              (writing ? ends.to_name : ends.from_name) + ": " + e.what();
  }
  throw Error(code, failure);
}

// Shared by every connection of one proxy.
struct State {
  explicit State(ProxyOptions o) : options(std::move(o)) {
    if (!options.upstream_tls) {
      tls::ClientOptions client;
      client.protocol.alpn = {"http/1.1"};
      options.upstream_tls = tls::ClientConfig::make(client);
    }
    if (!options.basic_auth.empty()) expected_auth = detail::base64(options.basic_auth);
  }

  // The configuration that answers intercepted clients: a certificate
  // minted for the name each asks for by SNI, or for the CONNECT host
  // (start_tls's name_without_sni); one bound on all that are kept.
  std::shared_ptr<const tls::ServerConfig> intercepting() const {
    tls::ServerOptions server;
    server.identity = options.authority->issue({"uptls-proxy.invalid"});
    // What the proxy relays: HTTP/1.1, and HTTP/1.0 (curl -0 offers it alone).
    server.protocol.alpn = {"http/1.1", "http/1.0"};
    server.identities_kept = options.certificates_kept;
    server.sni_callback = [authority = options.authority](std::string_view name) {
      return std::optional<tls::Identity>(authority->issue({std::string(name)}));
    };
    return tls::ServerConfig::make(server);
  }

  void log(const ProxyEvent& event) const {
    if (options.log) options.log(event);
  }

  ProxyOptions options;
  std::string expected_auth;
  std::shared_ptr<const tls::ServerConfig> minting = options.authority ? intercepting() : nullptr;
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> tunnels{0};
};

// A request read from the client: parsed, as sent, and how its body is framed.
struct Incoming {
  http::Request request;
  std::string head;
  http::Framing body;
};

class Session {
 public:
  Session(std::shared_ptr<State> state, Stream& client)
      : state_(std::move(state)), options_(state_->options), client_(client) {
    try {
      peer_ = client_.peer();
    } catch (const std::exception&) {
      peer_ = "unknown";
    }
  }

  asio::awaitable<void> run() {
    for (;;) {
      Incoming in;
      if (!co_await next_request(in, "local")) co_return;
      const http::Request& request = in.request;
      if (!authorized(request)) {
        // A wrong guess costs its sender a second: no quick search for the
        // password (a client that sent none is answered at once).
        if (request.fields.find("Proxy-Authorization")) co_await pause(wrong_credentials_delay);
        std::string reply = make_response(407, "uptls proxy: proxy authentication required\n", true,
                                          "Proxy-Authenticate: Basic realm=\"uptls proxy\"\r\n");
        co_await refuse(reply, 407, request, "local", "missing or wrong proxy credentials");
        co_return;
      }
      if (request.method == "CONNECT") {
        co_await connect(request);
        co_return;
      }
      bool keep = false;
      auto url = parse_absolute(request.target);
      if (url && url->tls && !port_allowed(url->target.port)) {
        std::string reply = make_response(
            403,
            "uptls proxy: https:// to port " + std::to_string(url->target.port) +
                " is not allowed (allowed ports are set with --allow-port, as for CONNECT)\n",
            true);
        co_await refuse(reply, 403, request, "local",
                        "port " + std::to_string(url->target.port) + " is not allowed");
        co_return;
      }
      if (url) {
        keep = co_await forward(in, *url);
      } else if (!request.target.empty() && request.target.front() == '/') {
        keep = co_await status_page(in);
      } else {
        std::string reply = make_response(
            400, "uptls proxy: the request target is neither a path nor an http:// URL\n", true);
        co_await refuse(reply, 400, request, "local", "bad request target");
        co_return;
      }
      if (!keep) {
        co_await finish(client_);
        co_return;
      }
    }
  }

 private:
  // Reads the next request from the client, up to its body; false when the
  // client is done, or was refused (400, 431) and its connection ends.
  asio::awaitable<bool> next_request(Incoming& in, const char* mode) {
    std::string problem;
    int status = 400;
    http::Request& request = in.request;
    try {
      in.head = co_await read_head(client_, options_.limits, true);
      if (in.head.empty()) co_return false;
      http::Outcome outcome = http::parse_request(in.head, request, options_.limits);
      if (outcome.parse == http::Parse::done) {
        // Framing a proxy cannot pass on safely (request smuggling) ends here.
        in.body = http::request_framing(request);
        started_ = Clock::now();
        ++state_->requests;
        co_return true;
      }
      problem = outcome.message;
      if (outcome.parse == http::Parse::too_large) status = 431;
    } catch (const Error& e) {
      if (e.code() == errc::line_too_long) {
        status = 431;
        problem = "a header line is longer than " + std::to_string(options_.limits.max_line) +
                  " bytes, or the head larger than " + std::to_string(options_.limits.max_head) +
                  " bytes or over " + std::to_string(options_.limits.max_fields) + " fields";
      } else if (e.code() == errc::protocol_error) {
        problem = e.what();
      } else {
        co_return false;
      }
    } catch (const std::system_error&) {
      co_return false;
    }
    started_ = Clock::now();
    std::string reply =
        make_response(status, "uptls proxy: malformed request: " + problem + "\n", true);
    co_await refuse(reply, status, request, mode, "malformed request: " + problem);
    co_return false;
  }

  bool authorized(const http::Request& request) const {
    if (state_->expected_auth.empty()) return true;
    auto value = request.fields.find("Proxy-Authorization");
    if (!value || value->size() < 6) return false;
    if (!detail::iequals(value->substr(0, 6), "basic ")) return false;
    std::string_view given = value->substr(6);
    while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
    const std::string& expected = state_->expected_auth;
    return given.size() == expected.size() &&
           CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
  }

  // Sends a response the proxy made and ends the connection.
  bool port_allowed(std::uint16_t port) const {
    const auto& ports = options_.connect_ports;
    return std::find(ports.begin(), ports.end(), port) != ports.end();
  }

  static constexpr std::chrono::seconds wrong_credentials_delay{1};

  asio::awaitable<void> pause(std::chrono::steady_clock::duration delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }

  asio::awaitable<void> refuse(const std::string& reply, int status, const http::Request& request,
                               const char* mode, std::string why) {
    ProxyEvent event = event_for(request, mode);
    event.status = status;
    event.error = std::move(why);
    try {
      co_await client_.write_all(reply);
      co_await linger(client_);
    } catch (const std::exception&) {
    }
    log(event);
  }

  ProxyEvent event_for(const http::Request& request, const char* mode) const {
    ProxyEvent event;
    event.client = peer_;
    event.mode = mode;
    event.method = request.method;
    event.url = request.target;
    return event;
  }

  void log(ProxyEvent& event) const {
    event.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_);
    state_->log(event);
  }

  // Ends a connection whose client may still be sending (a refused upload):
  // ends sending, then reads and drops what comes for a while, as nginx's
  // lingering close does, so that the client reads the response instead of
  // a reset (a close with unread bytes sends one).
  static asio::awaitable<void> linger(Stream& stream) {
    co_await finish(stream);
    Timeouts timeouts = stream.timeouts();
    timeouts.read = std::chrono::seconds(1);
    timeouts.idle = std::chrono::seconds(1);
    stream.set_timeouts(timeouts);
    auto until = Clock::now() + std::chrono::seconds(5);
    char sink[16384];
    try {
      while (Clock::now() < until && co_await stream.read_some(asio::buffer(sink)) > 0) {
      }
    } catch (const std::exception&) {
    }
  }

  static asio::awaitable<void> finish(Stream& stream) {
    try {
      co_await stream.shutdown_send();
    } catch (const std::exception&) {
    }
  }

  asio::awaitable<bool> status_page(const Incoming& in) {
    ProxyEvent event = event_for(in.request, "local");
    std::string body = "uptls proxy\nmode: ";
    body += options_.answer ? "answer" : options_.authority ? "intercept" : "tunnel";
    body += "\nconnections open: " + std::to_string(state_->open.load()) +
            "\nrequests: " + std::to_string(state_->requests.load()) +
            "\ntunnels: " + std::to_string(state_->tunnels.load()) + "\n";
    bool keep = co_await respond(in, event, body);
    log(event);
    co_return keep;
  }

  // Answers a request itself with 200 and body, once its own body is read
  // (and dropped); returns whether the connection stays open.
  asio::awaitable<bool> respond(const Incoming& in, ProxyEvent& event, const std::string& body) {
    const http::Request& request = in.request;
    const http::Framing& framing = in.body;
    if (framing.kind != http::BodyKind::none && request.minor_version >= 1 &&
        request.fields.has_token("Expect", "100-continue")) {
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await client_.write_all(go_on);
    }
    co_await copy_body({client_, "the client", nullptr, ""}, framing, options_.limits,
                       event.request_bytes);
    bool keep =
        !request.fields.has_token("Connection", "close") &&
        (request.minor_version >= 1 || request.fields.has_token("Connection", "keep-alive"));
    std::string reply = make_response(
        200, body, !keep, keep && request.minor_version == 0 ? "Connection: keep-alive\r\n" : "",
        request.method == "HEAD");
    co_await client_.write_all(reply);
    event.status = 200;
    event.response_bytes = request.method == "HEAD" ? 0 : body.size();
    co_return keep;
  }

  // Where requests go: an origin, and the connection kept to it.
  struct Upstream {
    Target target;
    bool tls = false;
    std::string server_name;
    std::optional<Stream> stream;
  };

  asio::awaitable<void> open_upstream(Upstream& upstream) {
    ConnectOptions connect;
    if (upstream.tls) connect.tls = options_.upstream_tls;
    connect.server_name = upstream.server_name;
    connect.connect_timeout = options_.connect_timeout;
    connect.timeouts = client_.timeouts();
    upstream.stream.reset();
    upstream.stream = co_await open_connection(upstream.target.host, upstream.target.port, connect);
  }

  // An exchange over the kept connection, opened when there is none. When
  // a connection that waited fails before any response and the request has
  // no body (nothing of the client's is lost), the origin closed it while
  // it was idle: it is opened again and the request sent once more, as
  // browsers and mitmproxy do.
  asio::awaitable<bool> send_upstream(Upstream& upstream, const Incoming& in,
                                      const std::string& head, ProxyEvent& event, bool& responded) {
    // A connection opened for this request failing is news; one that waited
    // (kept after a response, or opened ahead of the first request) may
    // just have been closed by the origin.
    bool fresh = !upstream.stream;
    if (fresh) co_await open_upstream(upstream);
    bool may_retry = !fresh && in.body.kind == http::BodyKind::none;
    bool stale = false;
    try {
      co_return co_await exchange(*upstream.stream, in, head, event, responded);
    } catch (const std::system_error&) {
      if (!may_retry || responded) throw;
      stale = true;
    }
    if (stale) co_await open_upstream(upstream);
    co_return co_await exchange(*upstream.stream, in, head, event, responded);
  }

  // One exchange over upstream: the request's head goes up, then its body
  // and the response flow at once, as clients and origins expect. An
  // `Expect: 100-continue` body goes up when the client sends it (after the
  // origin's 100, or after the client's own wait), and an origin may answer
  // before it has read the whole body: the body still goes up, unless the
  // client was waiting for a 100 that never came (then the connection
  // closes after the response). Returns whether both connections stay open;
  // throws when it fails (`responded`: the client has had response bytes).
  asio::awaitable<bool> exchange(Stream& upstream, const Incoming& in, const std::string& head,
                                 ProxyEvent& event, bool& responded) {
    const http::Request& request = in.request;
    const http::Framing& request_body = in.body;
    try {
      co_await upstream.write_all(head);
    } catch (const std::system_error& e) {
      rethrow_named("writing to the upstream", e);
    }
    if (request_body.kind == http::BodyKind::none) {
      ResponseDone done = co_await receive(upstream, request, event, responded, true);
      co_return done.keep;
    }
    auto executor = co_await asio::this_coro::executor;
    auto [order, upload_failure, uploaded, response_failure, response] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(executor, upload(upstream, request_body, event),
                           asio::experimental::deferred),
            asio::co_spawn(executor, receive(upstream, request, event, responded, false),
                           asio::experimental::deferred))
            .async_wait(UntilResponse(), asio::use_awaitable);
    if (!response_failure) {
      // The client has its response; a body that did not all go up (the
      // client stopped sending, the origin stopped reading) ends the
      // connection, and is said in the log unless it was not wanted.
      if (uploaded.failed && !response.abandon_upload) event.error = uploaded.message;
      co_return response.keep && !uploaded.failed;
    }
    // The upload's failure is the cause when there is one (an origin that
    // stopped reading, a client that vanished mid-body).
    if (uploaded.failed) throw Error(uploaded.code, uploaded.message);
    if (upload_failure) std::rethrow_exception(upload_failure);
    std::rethrow_exception(response_failure);
  }

  // What the two halves of an exchange complete with.
  struct UploadDone {
    bool failed = false;
    // The client failed (it vanished, or sent a bad body): nothing more can
    // come of the exchange. Else the origin did, whose response may still come.
    bool client_failed = false;
    std::error_code code;
    std::string message;
  };
  struct ResponseDone {
    bool keep = false;
    // The client waited for a 100 that never came and sent nothing: its
    // body is not wanted.
    bool abandon_upload = false;
  };
  // When one half ends the other: a client that failed ends the response
  // (nobody to give it to), a response that makes the body unwanted ends
  // the upload. Otherwise each runs to its end.
  struct UntilResponse {
    asio::cancellation_type_t operator()(const std::exception_ptr&, const UploadDone& done) const {
      return done.client_failed ? asio::cancellation_type::all : asio::cancellation_type::none;
    }
    asio::cancellation_type_t operator()(const std::exception_ptr& failure,
                                         const ResponseDone& done) const {
      return failure || done.abandon_upload ? asio::cancellation_type::all
                                            : asio::cancellation_type::none;
    }
  };

  asio::awaitable<void> send_to_client(const std::string& bytes, bool& responded) {
    responded = true;
    try {
      co_await client_.write_all(bytes);
    } catch (const std::system_error& e) {
      rethrow_named("writing to the client", e);
    }
  }

  asio::awaitable<UploadDone> upload(Stream& upstream, http::Framing body, ProxyEvent& event) {
    UploadDone done;
    bool writing = false;
    try {
      event.request_bytes = 0;
      co_await copy_body_between({client_, "the client", &upstream, "the upstream"}, body,
                                 options_.limits, event.request_bytes, writing);
    } catch (const std::system_error& e) {
      done.failed = true;
      done.client_failed = !writing;
      done.code = e.code();
      done.message =
          std::string(writing ? "writing to the upstream: " : "reading the client: ") + e.what();
    }
    co_return done;
  }

  // Reads the response, passing 1xx responses on (to HTTP/1.1 clients),
  // and copies it to the client. `bodiless`: the request had no body, so
  // a 101 (a WebSocket, say) can become a relay.
  asio::awaitable<ResponseDone> receive(Stream& upstream, const http::Request& request,
                                        ProxyEvent& event, bool& responded, bool bodiless) {
    http::Response response;
    std::string response_head;
    bool continued = false;
    for (;;) {
      try {
        response_head = co_await read_head(upstream, options_.limits, false);
      } catch (const std::system_error& e) {
        rethrow_named("reading the upstream", e);
      }
      if (response_head.empty()) {
        throw Error(errc::unexpected_eof, "the upstream closed the connection without a response");
      }
      http::Outcome outcome = http::parse_response(response_head, response, options_.limits);
      if (outcome.parse != http::Parse::done) {
        throw Error(errc::protocol_error,
                    "the upstream's response is malformed: " + outcome.message);
      }
      if (response.status >= 200 || (response.status == 101 && bodiless)) break;
      if (response.status == 101) {
        throw Error(errc::protocol_error, "the upstream switched protocols amid a request body");
      }
      continued = continued || response.status == 100;
      if (request.minor_version == 0) continue;
      co_await send_to_client(response_head, responded);
    }
    http::Framing response_body = http::response_framing(response, request.method);
    co_await send_to_client(response_head, responded);
    event.status = response.status;
    ResponseDone done;
    if (response.status == 101) {
      RelayOptions relay_options;
      relay_options.idle = client_.timeouts().idle;
      relay_options.a_name = "the client";
      relay_options.b_name = "the upstream";
      RelayResult moved = co_await relay(client_, upstream, relay_options);
      event.request_bytes = moved.a_to_b;
      event.response_bytes = moved.b_to_a;
      event.error = moved.message;
      co_return done;
    }
    co_await copy_body({upstream, "the upstream", &client_, "the client"}, response_body,
                       options_.limits, event.response_bytes);
    done.keep = http::keeps_alive(request, response, response_body);
    done.abandon_upload = !bodiless && !continued && event.request_bytes == 0 &&
                          request.fields.has_token("Expect", "100-continue");
    co_return done;
  }

  // Ends a failed exchange: a 502 saying why when the client has had no
  // response yet, else an abort (the client sees an incomplete response).
  asio::awaitable<void> fail_exchange(ProxyEvent& event, bool responded, std::string why) {
    event.error = why;
    if (responded) {
      client_.abort();
      co_return;
    }
    std::string reply = make_response(502, "uptls proxy: " + why + "\n", true);
    try {
      co_await client_.write_all(reply);
      event.status = 502;
      co_await linger(client_);
    } catch (const std::exception&) {
      client_.abort();
    }
  }

  // The field that frames a forwarded request's body as the proxy copies
  // it: its length, or the client's codings (validated to end in chunked)
  // for a chunked body, which is copied chunk by chunk as it came; a
  // Content-Length of 0 stays one.
  static std::string framing_field(const http::Framing& body, const std::string& codings,
                                   bool had_length) {
    switch (body.kind) {
      case http::BodyKind::length:
        return "Content-Length: " + std::to_string(body.length) + "\r\n";
      case http::BodyKind::chunked:
        return "Transfer-Encoding: " + codings + "\r\n";
      default:
        return had_length ? "Content-Length: 0\r\n" : "";
    }
  }

  // An absolute-form request: forwarded in origin form, without the proxy's
  // own fields, over an upstream connection kept while the host stays.
  asio::awaitable<bool> forward(const Incoming& in, const Url& url) {
    const http::Request& request = in.request;
    ProxyEvent event = event_for(request, "forward");
    if (options_.answer) {
      bool keep = co_await respond(in, event, *options_.answer);
      log(event);
      co_return keep;
    }
    std::string head = request.method + " " + url.path + " HTTP/1." +
                       std::to_string(request.minor_version) + "\r\n";
    // RFC 9112 §3.2.2: the Host is the URL's. The proxy's own fields stay
    // here, and so do Connection and the fields it names for this hop (RFC
    // 9110 §7.6.1), but for Upgrade, which a 101 relay passes on. The body's
    // framing is the proxy's own, from what it parsed and will copy (a
    // Connection naming a framing field was refused as it was read). The
    // proxy says its own options: close, upgrade, keep-alive for HTTP/1.0.
    const http::Fields& fields = request.fields;
    head += "Host: " + url.target.text(true, url.tls ? 443 : 80) + "\r\n";
    std::string codings;
    for (const auto& field : fields.list) {
      const std::string& name = field.name;
      if (detail::iequals(name, "Transfer-Encoding")) {
        codings += (codings.empty() ? "" : ", ") + field.value;
        continue;
      }
      if (detail::iequals(name, "Host") || detail::iequals(name, "Content-Length") ||
          detail::iequals(name, "Proxy-Authorization") ||
          detail::iequals(name, "Proxy-Connection") || detail::iequals(name, "Keep-Alive") ||
          detail::iequals(name, "Connection") ||
          (!detail::iequals(name, "Upgrade") && fields.has_token("Connection", name))) {
        continue;
      }
      head += name + ": " + field.value + "\r\n";
    }
    head += framing_field(in.body, codings, fields.find("Content-Length").has_value());
    std::string options;
    if (fields.has_token("Connection", "close")) options = "close";
    if (fields.has_token("Connection", "upgrade") && fields.find("Upgrade")) {
      options += options.empty() ? "upgrade" : ", upgrade";
    }
    if (options.empty() && request.minor_version == 0 &&
        fields.has_token("Connection", "keep-alive")) {
      options = "keep-alive";
    }
    if (!options.empty()) head += "Connection: " + options + "\r\n";
    head += "\r\n";
    bool responded = false;
    if (forwarded_.target.host != url.target.host || forwarded_.target.port != url.target.port ||
        forwarded_.tls != url.tls) {
      forwarded_.stream.reset();
      forwarded_.target = url.target;
      forwarded_.tls = url.tls;
      forwarded_.server_name = url.target.host;
    }
    try {
      bool keep = co_await send_upstream(forwarded_, in, head, event, responded);
      if (!keep) forwarded_.stream.reset();
      log(event);
      co_return keep;
    } catch (const std::exception& e) {
      forwarded_.stream.reset();
      fail_what_ = e.what();
    }
    co_await fail_exchange(event, responded,
                           "forwarding to " + url.target.text() + ": " + fail_what_);
    log(event);
    co_return false;
  }

  asio::awaitable<void> connect(const http::Request& request) {
    auto target = parse_authority(request.target, 0);
    if (!target) {
      std::string reply = make_response(
          400, "uptls proxy: CONNECT needs host:port, not '" + request.target + "'\n", true);
      co_await refuse(reply, 400, request, "local", "bad CONNECT target");
      co_return;
    }
    if (!port_allowed(target->port)) {
      std::string reply =
          make_response(403,
                        "uptls proxy: CONNECT to port " + std::to_string(target->port) +
                            " is not allowed (allowed ports are set with --allow-port)\n",
                        true);
      co_await refuse(reply, 403, request, "local",
                      "port " + std::to_string(target->port) + " is not allowed");
      co_return;
    }
    ++state_->tunnels;
    if (options_.authority) {
      co_await intercept(request, *target);
    } else {
      co_await tunnel(request, *target);
    }
  }

  asio::awaitable<void> tunnel(const http::Request& request, const Target& target) {
    ProxyEvent event = event_for(request, "tunnel");
    Upstream upstream;
    upstream.target = target;
    try {
      co_await open_upstream(upstream);
    } catch (const std::exception& e) {
      fail_what_ = e.what();
    }
    if (!upstream.stream) {
      co_await fail_exchange(event, false, "cannot reach " + target.text() + ": " + fail_what_);
      log(event);
      co_return;
    }
    static constexpr std::string_view established = "HTTP/1.1 200 Connection established\r\n\r\n";
    co_await client_.write_all(established);
    event.status = 200;
    RelayOptions relay_options;
    relay_options.idle = client_.timeouts().idle;
    relay_options.a_name = "client";
    relay_options.b_name = "upstream";
    RelayResult moved = co_await relay(client_, *upstream.stream, relay_options);
    event.request_bytes = moved.a_to_b;
    event.response_bytes = moved.b_to_a;
    event.error = moved.message;
    log(event);
  }

  asio::awaitable<void> intercept(const http::Request& request, const Target& target) {
    ProxyEvent event = event_for(request, "intercept");
    if (!detail::is_ip_literal(target.host) && !detail::is_dns_name(target.host)) {
      co_await fail_exchange(event, false,
                             "cannot make a certificate for " + target.host +
                                 ": it is neither a DNS name nor an IP address");
      log(event);
      co_return;
    }
    static constexpr std::string_view established = "HTTP/1.1 200 Connection established\r\n\r\n";
    co_await client_.write_all(established);
    try {
      // Whatever the client pipelined after its CONNECT can only be its
      // ClientHello: it goes to the handshake, and anything else fails it.
      co_await client_.start_tls(state_->minting, target.host, CarryOver::feed_handshake);
    } catch (const std::exception& e) {
      event.status = 200;
      event.error = std::string("the client's TLS handshake failed: ") + e.what();
      log(event);
      co_return;
    }
    std::string server_name = target.host;
    if (auto info = client_.tls_info(); info && !info->server_name.empty()) {
      server_name = info->server_name;
    }
    Target named{server_name, target.port};
    std::string origin = "https://" + named.text(true, 443);
    Upstream upstream;
    upstream.target = target;
    upstream.tls = true;
    upstream.server_name = server_name;
    std::string upstream_error;
    if (!options_.answer) {
      try {
        co_await open_upstream(upstream);
      } catch (const std::exception& e) {
        upstream_error = "cannot reach " + origin + ": " + e.what();
      }
    }
    for (;;) {
      Incoming inner;
      if (!co_await next_request(inner, "intercept")) break;
      const std::string& path = inner.request.target;
      ProxyEvent exchange_event = event_for(inner.request, "intercept");
      if (!path.empty() && path.front() == '/') exchange_event.url = origin + path;
      bool keep = false;
      bool responded = false;
      std::string why;
      try {
        if (options_.answer) {
          keep = co_await respond(inner, exchange_event, *options_.answer);
        } else if (upstream_error.empty()) {
          keep = co_await send_upstream(upstream, inner, inner.head, exchange_event, responded);
        } else {
          why = upstream_error;
        }
      } catch (const std::exception& e) {
        why = e.what();
      }
      if (!why.empty()) {
        co_await fail_exchange(exchange_event, responded, why);
        log(exchange_event);
        break;
      }
      log(exchange_event);
      if (!keep) {
        co_await finish(client_);
        break;
      }
    }
  }

  std::shared_ptr<State> state_;
  const ProxyOptions& options_;
  Stream& client_;
  std::string peer_;
  Clock::time_point started_ = Clock::now();
  // Set in a catch block, used after it: a co_await may not be in a handler.
  std::string fail_what_;
  // The origin of the last forwarded request, kept for the next.
  Upstream forwarded_;
};

asio::awaitable<void> serve_client(std::shared_ptr<State> state, Stream client) {
  ++state->open;
  struct Count {
    std::atomic<std::size_t>& open;
    ~Count() { --open; }
  } count{state->open};
  Session session(state, client);
  co_await session.run();
}

}  // namespace

Handler proxy_handler(ProxyOptions options) {
  auto state = std::make_shared<State>(std::move(options));
  return [state](Stream client) { return serve_client(state, std::move(client)); };
}

}  // namespace uptls
