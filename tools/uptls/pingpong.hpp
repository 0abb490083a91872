#pragma once
// The seed protocol (PING/PONG/STARTTLS/QUIT), server and client halves,
// shared by `uptls demo`, `uptls serve pingpong` and `uptls client pingpong`.

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "uptls/connect.hpp"
#include "uptls/stream.hpp"

namespace uptls::cli {

/// Where a peer reports each step; a no-op to stay quiet.
using Say = std::function<void(std::string_view)>;

/// The seed server's handler: PING answers PONG, STARTTLS upgrades, QUIT
/// closes. Before its handshake it answers STARTTLS with starttls_reply
/// (Twisted's starttls_server sends READY), or with nothing when it is
/// empty (seed 000).
asio::awaitable<void> serve_pingpong(Stream stream, Say say, std::string starttls_reply = {});

/// How long the seed client waits for a reply to STARTTLS before its
/// handshake (see await_go_ahead in pingpong.cpp and the README).
inline constexpr std::chrono::milliseconds default_reply_wait{200};

/// The seed client: PING/PONG in plaintext (no peer certificate), STARTTLS
/// and the upgrade, PING/PONG over TLS (peer certificate present), QUIT.
/// @throws std::exception naming the step that did not hold.
/// With implicit_tls the connection is TLS from the start: no plaintext
/// PING, no STARTTLS. After STARTTLS it waits up to reply_wait for a READY
/// line (Twisted's starttls_server sends one) before its handshake.
asio::awaitable<void> run_pingpong_client(std::string host, std::uint16_t port,
                                          ConnectOptions options, bool implicit_tls,
                                          std::chrono::milliseconds reply_wait, Say say);

/// One line about a stream's TLS session: version, cipher, ALPN, and
/// (server) the client's certificate.
std::string describe_session(const Stream& stream);

/// Splits "host:port", "[v6]:port".
/// @throws std::invalid_argument on a malformed address.
std::pair<std::string, std::uint16_t> split_host_port(std::string_view text);

}  // namespace uptls::cli
