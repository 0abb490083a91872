#include "upgrade_options.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <variant>

#include "uptls/starttls.hpp"
#include "uptls/stream_transport.hpp"

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

std::string protocol_names() {
  std::string names;
  for (const auto& protocol : starttls::protocols()) {
    names += (names.empty() ? "" : " ") + std::string(protocol.name);
  }
  return names;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(separator)) + item;
  return out;
}

/// --starttls PROTO: the protocol's own dialogue, then the upgrade.
asio::awaitable<void> protocol_dialogue(Stream& stream, const UpgradeArgs& args,
                                        const std::string& server_name, const Say& say) {
  auto protocol = starttls::protocol_named(args.starttls);
  starttls::ClientDialogueOptions options;
  options.policy =
      args.opportunistic ? starttls::Policy::opportunistic : starttls::Policy::required;
  options.client_name = args.client_name;
  options.server_name = server_name;
  say("Speaking " + args.starttls + " (" + std::string(protocol->rfc) + ") up to STARTTLS");
  starttls::Learned learned = co_await starttls::client(stream, protocol->protocol, options);
  if (!learned.greeting.empty()) say("Server greeting: " + learned.greeting);
  if (!learned.tls) {
    // Loud even with --quiet: nothing else tells the user.
    std::fprintf(stderr,
                 "uptls: WARNING: NOT ENCRYPTED. %s; --opportunistic: going on in "
                 "PLAINTEXT\n",
                 learned.plaintext_reason.c_str());
  }
  if (!learned.capabilities.empty()) {
    say(std::string(learned.tls ? "Capabilities over TLS: " : "Capabilities (plaintext): ") +
        join(learned.capabilities, ", "));
  }
}

}  // namespace

std::pair<std::string, std::uint16_t> resolve_target(const std::string& address, UpgradeArgs& args,
                                                     std::uint16_t default_port) {
  std::string_view text = address;
  std::uint16_t port = default_port;
  auto scheme_end = text.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string scheme(text.substr(0, scheme_end));
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool implicit = false;
    auto protocol = starttls::protocol_named(scheme, &implicit);
    if (!protocol) {
      throw std::invalid_argument("unknown URL scheme '" + scheme + "://' (known: " +
                                  protocol_names() + ", and their implicit-TLS forms)");
    }
    if (args.implicit_tls || !args.starttls_line.empty() ||
        (!args.starttls.empty() && args.starttls != protocol->name)) {
      throw std::invalid_argument("the URL " + address +
                                  " already says how TLS starts; drop --implicit-tls, "
                                  "--starttls and --starttls-line");
    }
    if (implicit) {
      args.implicit_tls = true;
      port = protocol->implicit_port;
    } else {
      args.starttls = protocol->name;
      port = protocol->port;
    }
    text.remove_prefix(scheme_end + 3);
    text = text.substr(0, text.find('/'));
  } else if (!args.starttls.empty()) {
    // HOST alone with --starttls: the protocol's port, not the command's.
    port = starttls::protocol_named(args.starttls)->port;
  }
  // A bare IPv6 address has colons and no port.
  bool bracketed = !text.empty() && text.front() == '[';
  bool has_port =
      bracketed ? text.find("]:") != std::string_view::npos
                : text.find(':') != std::string_view::npos && text.find(':') == text.rfind(':');
  if (has_port || port == 0) return split_host_port(text);
  return split_host_port(std::string(text) + ":" + std::to_string(port));
}

void add_upgrade_options(CLI::App& command, UpgradeArgs& args, double default_timeout) {
  args.timeout = default_timeout;
  command
      .add_option("--timeout", args.timeout,
                  "SECONDS for the connect, the TLS handshake, and each greeting, reply or read "
                  "from the server; 0: wait for replies without limit")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  auto* implicit = command.add_flag("--implicit-tls", args.implicit_tls,
                                    "TLS from the first byte (like openssl s_client)");
  auto* line = command.add_option("--starttls-line", args.starttls_line,
                                  "send this line in plaintext, then upgrade to TLS");
  implicit->excludes(line);
  auto* protocol =
      command
          .add_option("--starttls", args.starttls,
                      "speak PROTO's plaintext phase and its STARTTLS (" + protocol_names() +
                          "); a URL such as smtp://HOST says it too")
          ->check([](const std::string& name) {
            return starttls::protocol_named(name)
                       ? std::string()
                       : "unknown protocol '" + name + "' (known: " + protocol_names() + ")";
          });
  protocol->excludes(implicit)->excludes(line);
  auto* proxy = command.add_option(
      "--proxy", args.proxy,
      "HOST:PORT (or http://HOST:PORT) of an HTTP proxy, or https://HOST:PORT of one reached "
      "over TLS (its certificate verified for HOST; the session with the server is TLS inside "
      "that TLS): CONNECT through it first, then TLS as the other options say");
  command
      .add_option("--proxy-user", args.proxy_user,
                  "USER:PASSWORD for the proxy (Basic; in plaintext to an http:// proxy)")
      ->needs(proxy);
  command
      .add_option("--proxy-cafile", args.proxy_cafiles,
                  "PEM CA certificates an https:// proxy is verified against (default: the "
                  "system's trust store)")
      ->needs(proxy);
  command
      .add_option("--client-name", args.client_name,
                  "--starttls: the name to greet the server with (EHLO, LHLO)")
      ->needs(protocol)
      ->capture_default_str();
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

namespace {

// The address of a proxy, and whether it is reached over TLS.
std::pair<std::string, bool> proxy_address(std::string_view proxy) {
  bool tls = proxy.starts_with("https://");
  if (tls) {
    proxy.remove_prefix(8);
  } else if (proxy.starts_with("http://")) {
    proxy.remove_prefix(7);
  }
  if (proxy.ends_with("/")) proxy.remove_suffix(1);
  return {std::string(proxy), tls};
}

// A tunnel to authority through the proxy at host:port (http:// or
// https://); a stream ready for TLS with the origin (started here for
// --implicit-tls). Over an https:// proxy, the origin's stream runs over
// the proxy's TLS stream (stream_transport).
asio::awaitable<Stream> through_proxy(const std::string& host, std::uint16_t port,
                                      const std::string& authority, const ConnectOptions& options,
                                      const UpgradeArgs& args, const Say& say) {
  bool over_tls = proxy_address(args.proxy).second;
  ConnectOptions to_proxy = options;
  if (over_tls) {
    tls::ClientOptions trust;
    trust.trust.ca_files = args.proxy_cafiles;
    to_proxy.tls = tls::ClientConfig::make(trust);
    to_proxy.server_name = host;
    to_proxy.upgradeable = false;
  }
  Stream stream = co_await open_connection(host, port, to_proxy);
  if (over_tls) say("The proxy: " + describe_session(stream));
  say("Asking the proxy for a tunnel to " + authority);
  auto tunnel = starttls::make_http_connect(authority, args.proxy_user);
  starttls::Learned answer = co_await starttls::run(stream, *tunnel);
  say("Proxy: " + answer.greeting);
  if (over_tls) {
    Stream inner(stream_transport(std::move(stream), authority + " (through the proxy)"),
                 options.tls, options.server_name);
    inner.set_timeouts(options.timeouts);
    stream = std::move(inner);
  }
  if (args.implicit_tls) co_await stream.start_tls();
  co_return stream;
}

}  // namespace

asio::awaitable<Stream> connect_upgraded(std::string host, std::uint16_t port,
                                         ConnectOptions options, const UpgradeArgs& args,
                                         const Say& say) {
  if (!args.implicit_tls && args.starttls_line.empty() && args.starttls.empty()) {
    throw std::invalid_argument(
        "say how TLS starts: --implicit-tls (TLS from the first byte), --starttls PROTO (or a "
        "URL such as smtp://HOST), or --starttls-line LINE [--expect REPLY] (a plaintext line "
        "first)");
  }
  std::string authority = host.find(':') != std::string::npos
                              ? "[" + host + "]:" + std::to_string(port)
                              : host + ":" + std::to_string(port);
  if (!args.proxy.empty()) {
    // TLS with the origin, through the tunnel: the name to verify is the
    // origin's, not the proxy's.
    if (options.server_name.empty()) options.server_name = host;
    auto [proxy_host, proxy_port] = split_host_port(proxy_address(args.proxy).first);
    host = proxy_host;
    port = proxy_port;
    options.upgradeable = true;
  } else {
    options.upgradeable = !args.implicit_tls;
  }
  if (args.timeout > 0) {
    options.connect_timeout = seconds(args.timeout);
    options.timeouts.handshake = seconds(args.timeout);
    options.timeouts.idle = seconds(args.timeout);
  } else {
    options.timeouts.idle = std::chrono::milliseconds(0);
  }
  say("Connecting to " + host + " port " + std::to_string(port));
  // Not a conditional expression: GCC 12 miscompiles co_await inside one.
  std::optional<Stream> connected;
  if (args.proxy.empty()) {
    connected = co_await open_connection(host, port, options);
  } else {
    connected = co_await through_proxy(host, port, authority, options, args, say);
  }
  Stream stream = std::move(*connected);
  if (!args.starttls.empty()) {
    co_await protocol_dialogue(stream, args,
                               options.server_name.empty() ? host : options.server_name, say);
  } else if (!args.implicit_tls) {
    co_await plaintext_dialogue(stream, args, say);
    say("Upgrading the connection to TLS");
    co_await stream.start_tls();
  }
  co_return stream;
}

}  // namespace uptls::cli
