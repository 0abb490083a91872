#pragma once
// How a client command reaches TLS, shared by `uptls connect` and the other
// client commands: implicit TLS, a protocol's STARTTLS (--starttls PROTO,
// or a URL such as smtp://host), or a plaintext line dialogue first
// (--starttls-line, --expect) and then the upgrade.

#include <CLI/CLI.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pingpong.hpp"
#include "uptls/connect.hpp"
#include "uptls/stream.hpp"

namespace uptls::cli {

struct UpgradeArgs {
  bool implicit_tls = false;
  std::string starttls;  // a protocol's name (smtp, imap, ...)
  bool opportunistic = false;
  std::string client_name = "localhost";
  std::string proxy;       // [http://|https://]HOST:PORT of a proxy to CONNECT through
  std::string proxy_user;  // USER:PASSWORD for it
  std::vector<std::string> proxy_cafiles;  // an https:// proxy's trust; empty: the system's
  std::string starttls_line;
  std::string expect;
  double expect_timeout = 10;
  double reply_wait = default_reply_wait.count() / 1000.0;
  // --timeout: bounds the connect, the handshake and each wait for a reply.
  double timeout = 300;
};

/// Adds the options of how TLS starts, and --timeout with default_timeout
/// (seconds) as its default.
void add_upgrade_options(CLI::App& command, UpgradeArgs& args, double default_timeout);

/// What an address names: HOST:PORT, or a URL (smtp://host[:port],
/// smtps://host, ...) whose scheme also says how TLS starts, which goes into
/// args. A HOST without a port gets the URL's port, or --starttls's
/// protocol's, or else default_port (0: a port is required).
/// @throws std::invalid_argument for an unknown scheme or a bad address.
std::pair<std::string, std::uint16_t> resolve_target(const std::string& address, UpgradeArgs& args,
                                                     std::uint16_t default_port = 0);

/// Connects to host:port and brings the stream to TLS as args say, saying
/// each step: implicit TLS, or the STARTTLS line, the expected reply (an
/// error naming what came instead), and the handshake.
/// @throws std::exception with a message for the user.
asio::awaitable<Stream> connect_upgraded(std::string host, std::uint16_t port,
                                         ConnectOptions options, const UpgradeArgs& args,
                                         const Say& say);

}  // namespace uptls::cli
