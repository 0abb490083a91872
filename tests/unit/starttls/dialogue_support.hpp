#pragma once
// Test support for the STARTTLS dialogues: feeding a pure dialogue as a
// peer would, and running a client and a server dialogue against each other
// over the in-memory transport with TLS.

#include <asio/experimental/awaitable_operators.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "sessions/sessions.hpp"
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

/// A server's STARTTLS dialogue and, once it hands over, the session of
/// `uptls serve` (sessions/), fed the way a server on a Stream sees the
/// client's bytes: what the dialogue leaves unread goes to the session.
class ServerFeeder {
 public:
  explicit ServerFeeder(starttls::Protocol protocol, starttls::ServerDialogueOptions options = {},
                        sessions::Options session_options = {})
      : protocol_(protocol),
        session_options_(std::move(session_options)),
        dialogue_(starttls::make_server(protocol, std::move(options))),
        greeting_(dialogue_->take_output()) {}

  /// What the server sent first.
  const std::string& greeting() const noexcept { return greeting_; }

  /// Delivers bytes; returns what the dialogue or the session answered.
  std::string operator()(std::string_view bytes) {
    pending_.append(bytes);
    std::string out;
    for (;;) {
      std::size_t used = dialogue_->receive(pending_);
      pending_.erase(0, used);
      out += dialogue_->take_output();
      if (!hand_over()) return out;
      out += dialogue_->take_output();
    }
  }
  /// The handshake finished; returns what was sent after it.
  std::string tls_started() {
    dialogue_->tls_started();
    std::string out = dialogue_->take_output();
    hand_over();
    return out + dialogue_->take_output();
  }
  /// The dialogue, or the session once it began.
  starttls::Dialogue* operator->() { return dialogue_.get(); }
  /// Whether the session began.
  bool in_session() const noexcept { return in_session_; }

 private:
  bool hand_over() {
    if (in_session_ || dialogue_->next() != starttls::Next::done ||
        dialogue_->learned().client_left) {
      return false;
    }
    in_session_ = true;
    dialogue_ = sessions::make_session(protocol_, dialogue_->learned(), session_options_);
    return true;
  }

  starttls::Protocol protocol_;
  sessions::Options session_options_;
  std::unique_ptr<starttls::Dialogue> dialogue_;
  std::string greeting_;
  std::string pending_;
  bool in_session_ = false;
};

/// What a client and a server dialogue learned from each other.
struct Both {
  starttls::Learned client;
  starttls::Learned server;
};

/// A client and a server dialogue of protocol against each other, over the
/// memory transport, upgraded to TLS with the test PKI. The server serves
/// the session of `uptls serve` after its dialogue; the client closes once
/// its dialogue is done.
inline asio::awaitable<Both> converse(starttls::Protocol protocol,
                                      starttls::ClientDialogueOptions client_options = {},
                                      starttls::ServerDialogueOptions server_options = {}) {
  using namespace asio::experimental::awaitable_operators;
  auto executor = co_await asio::this_coro::executor;
  auto pair = memory_pair(executor);
  Stream client(std::move(pair.client), pki().client, "localhost");
  Stream server(std::move(pair.server), pki().server);
  sessions::Options session_options;
  server_options.capabilities = sessions::capabilities_before_tls(protocol, session_options);
  auto serve = [&]() -> asio::awaitable<starttls::Learned> {
    auto learned = co_await starttls::server(server, protocol, server_options);
    if (!learned.client_left) co_await sessions::serve(server, protocol, learned, session_options);
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
