#pragma once
// Test support: run a coroutine to completion (bounded), loopback socket
// pairs, a shared development PKI, and catching errors from coroutines.

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "uptls/stream.hpp"
#include "uptls/tls/authority.hpp"
#include "uptls/tls/config.hpp"

namespace uptls::test {

/// Runs a coroutine on a fresh io_context; throws if it does not finish
/// within limit (a hang is a failure, never a wait forever).
inline void run(std::function<asio::awaitable<void>()> body,
                std::chrono::seconds limit = std::chrono::seconds(30)) {
  asio::io_context io;
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    failure = e;
    io.stop();  // servers the body left behind must not keep it running
  });
  io.run_for(limit);
  if (failure) std::rethrow_exception(failure);
  if (!done) throw std::runtime_error("test coroutine did not finish in time");
}

/// Two connected loopback sockets: first is the accepted (server) end.
inline std::pair<asio::ip::tcp::socket, asio::ip::tcp::socket> connected_pair(
    const asio::any_io_executor& executor) {
  asio::ip::tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client(executor);
  client.connect(acceptor.local_endpoint());
  asio::ip::tcp::socket server = acceptor.accept();
  return {std::move(server), std::move(client)};
}

/// One development CA for all tests, a server certificate for localhost,
/// 127.0.0.1 and ::1, and a client configuration that trusts the CA.
struct Pki {
  Pki() : authority("uptls test CA") {
    server = tls::ServerConfig::make(authority.issue({"localhost", "127.0.0.1", "::1"}));
    tls::ClientOptions options;
    options.trust.ca_pem = authority.ca_pem();
    client = tls::ClientConfig::make(options);
  }
  tls::DevAuthority authority;
  std::shared_ptr<const tls::ServerConfig> server;
  std::shared_ptr<const tls::ClientConfig> client;
};

inline const Pki& pki() {
  static const Pki instance;
  return instance;
}

/// What an operation threw: its code and message; empty code if it did not throw.
struct Caught {
  Caught() = default;
  Caught(std::error_code c, std::string m) : code(c), message(std::move(m)) {}
  std::error_code code;
  std::string message;
};

template <typename T>
asio::awaitable<Caught> caught(asio::awaitable<T> operation) {
  try {
    // Discarded: the operation's value (a Server, say) is not what this tests.
    static_cast<void>(co_await std::move(operation));
  } catch (const std::system_error& e) {
    co_return Caught(e.code(), e.what());
  }
  co_return Caught();
}

/// A server's log lines, kept for a test to look at.
struct Logged {
  std::vector<std::string> lines;
  bool contains(std::string_view text) const {
    for (const auto& line : lines) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
  /// Every line, for failure messages.
  std::string text() const {
    std::string all;
    for (const auto& line : lines) all += line + "\n";
    return all;
  }
};

/// Writes all of data to a raw socket (the test's side of a connection).
inline asio::awaitable<void> raw_write(asio::ip::tcp::socket& socket, std::string data) {
  co_await asio::async_write(socket, asio::buffer(data), asio::use_awaitable);
}

/// Reads from a raw socket until the peer closes (or resets); returns what arrived.
inline asio::awaitable<std::string> raw_read_to_end(asio::ip::tcp::socket& socket) {
  std::string all;
  char chunk[4096];
  for (;;) {
    asio::error_code ec;
    std::size_t n = co_await socket.async_read_some(asio::buffer(chunk),
                                                    asio::redirect_error(asio::use_awaitable, ec));
    all.append(chunk, n);
    if (ec) co_return all;
  }
}

/// Reads a stream until its peer's clean end; returns what arrived.
inline asio::awaitable<std::string> read_to_end(Stream& stream) {
  std::string all;
  char buffer[4096];
  for (;;) {
    std::size_t n = co_await stream.read_some(asio::buffer(buffer));
    if (n == 0) co_return all;
    all.append(buffer, n);
  }
}

}  // namespace uptls::test
