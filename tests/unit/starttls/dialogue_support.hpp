#pragma once
// Test support for the STARTTLS dialogues: feeding a pure dialogue as a
// peer would, and running a client and a server dialogue against each other
// over the in-memory transport with TLS.

#include <asio/experimental/awaitable_operators.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "uptls/starttls.hpp"

namespace uptls::test {

/// Feeds a pure dialogue the way run() does: bytes accumulate until it
/// consumes them.
class Feeder {
 public:
  explicit Feeder(starttls::Dialogue& dialogue) : dialogue_(dialogue) {}

  /// Delivers bytes; returns what the dialogue answered.
  std::string operator()(std::string_view bytes) {
    pending_.append(bytes);
    std::size_t used = dialogue_.receive(pending_);
    pending_.erase(0, used);
    return dialogue_.take_output();
  }
  /// Bytes delivered and not consumed.
  const std::string& pending() const { return pending_; }

 private:
  starttls::Dialogue& dialogue_;
  std::string pending_;
};

/// What a client and a server dialogue learned from each other.
struct Both {
  starttls::Learned client;
  starttls::Learned server;
};

/// A client and a server dialogue of protocol against each other, over the
/// memory transport, upgraded to TLS with the test PKI. The server serves
/// its minimal session; the client closes once its dialogue is done.
inline asio::awaitable<Both> converse(starttls::Protocol protocol,
                                      starttls::ClientDialogueOptions client_options = {},
                                      starttls::ServerDialogueOptions server_options = {}) {
  using namespace asio::experimental::awaitable_operators;
  auto executor = co_await asio::this_coro::executor;
  auto pair = memory_pair(executor);
  Stream client(std::move(pair.client), pki().client, "localhost");
  Stream server(std::move(pair.server), pki().server);
  server_options.session = true;
  auto serve = [&]() -> asio::awaitable<starttls::Learned> {
    auto learned = co_await starttls::server(server, protocol, server_options);
    co_await server.close();
    co_return learned;
  };
  auto talk = [&]() -> asio::awaitable<starttls::Learned> {
    auto learned = co_await starttls::client(client, protocol, client_options);
    co_await client.close();
    co_return learned;
  };
  auto [c, s] = co_await (talk() && serve());
  co_return Both{std::move(c), std::move(s)};
}

}  // namespace uptls::test
