// The upgrade, top to bottom: what start_tls checks before anything
// changes, the bytes carried over from the plaintext phase (DESIGN.md, the
// upgrade invariant), the handshake, and stop_tls.

#include "printable.hpp"
#include "stream_state.hpp"
#include "tls/config_access.hpp"

namespace uptls::detail {

// A server may feed what the client sent after its STARTTLS to the
// handshake (a ClientHello in the same segment); anything else carried
// over is refused, and the connection closed.
std::string StreamState::take_carried_over(CarryOver carry_over) {
  bool feed = role == Role::server && carry_over != CarryOver::refuse;
  if (buffer.empty()) return {};
  if (!feed) {
    std::string seen = detail::printable(buffer.view());
    std::size_t n = buffer.size();
    abort();
    // Bytes from the plaintext phase are never delivered as application
    // data after the upgrade.
    throw Error(make_error_code(errc::injected_plaintext),
                std::to_string(n) + " plaintext byte(s) arrived before the TLS handshake " +
                    "began (" + seen + "); refusing to carry them into TLS (STARTTLS " +
                    "injection, or start_tls called before reading the peer's reply). The " +
                    "connection was closed.");
  }
  return buffer.take_all();
}

namespace {

// A call that is wrong fails before anything changes: throws for a role
// mismatch, a client feeding the handshake, a missing configuration or a
// missing name to verify.
void check_upgrade(const StreamState& state, CarryOver carry_over,
                   const StreamState::Upgrade& given) {
  Role role = state.role;
  if (given.for_role && *given.for_role != role) {
    throw Error(make_error_code(errc::invalid_argument),
                role == Role::server
                    ? "start_tls: a client configuration given to a server-role stream"
                    : "start_tls: a server configuration given to a client-role stream");
  }
  if (role == Role::client && carry_over == CarryOver::feed_handshake) {
    throw Error(make_error_code(errc::invalid_argument),
                "a client cannot feed carried-over bytes to the handshake: the server speaks "
                "second in TLS");
  }
  const auto& client = given.client ? given.client : state.client_config;
  const std::string& name = given.name.empty() ? state.server_name : given.name;
  if (role == Role::server ? !(given.server || state.server_config) : !client) {
    throw Error(make_error_code(errc::no_tls_config),
                std::string("start_tls: no ") + (role == Role::server ? "server" : "client") +
                    " TLS configuration for this stream");
  }
  if (role == Role::client && name.empty() && client->verifies_peer()) {
    throw Error(make_error_code(errc::invalid_argument),
                "start_tls: a server name is needed to verify the server's certificate");
  }
}

}  // namespace

// One rule (stream.hpp, start_tls): a call that is wrong (busy, already
// TLS, no or the wrong role's configuration, no name to verify) fails
// before anything changes, and the stream stays as it was; an upgrade that
// fails once begun (refused bytes, the handshake, a timeout, a
// cancellation) closes it. A configuration given is stored only then.
asio::awaitable<void> StreamState::handshake(CarryOver carry_over, Upgrade given) {
  ensure_open();
  Claim claim = claim_all("start_tls");
  if (engine)
    throw Error(make_error_code(errc::already_tls), "start_tls: the stream is already TLS");
  check_upgrade(*this, carry_over, given);
  if (given.client) client_config = std::move(given.client);
  if (given.server) server_config = std::move(given.server);
  if (!given.name.empty()) server_name = std::move(given.name);
  std::string carried = take_carried_over(carry_over);
  bool upgrade = bytes_received + bytes_sent > 0;
  // Only a Server's streams are observed: others read no clock for it.
  auto began = observer ? Clock::now() : Clock::time_point();
  auto tell = [&](bool ok) {
    if (!observer) return;
    StreamObserver::Handshake handshake;
    handshake.ok = ok;
    handshake.upgrade = upgrade;
    handshake.took = Clock::now() - began;
    if (ok) {
      handshake.version = engine->version();
      handshake.cipher = engine->cipher();
      handshake.resumed = engine->resumed();
    }
    observer->on_handshake(handshake);
  };
  try {
    if (role == Role::server) {
      engine = std::make_unique<tls::detail::Engine>(tls::detail::context_of(*server_config),
                                                     Role::server, *transport, std::move(carried));
      if (!server_name.empty()) engine->answer_without_sni(server_name);
      if (session_tickets >= 0)
        engine->set_session_tickets(static_cast<std::size_t>(session_tickets));
    } else {
      engine = std::make_unique<tls::detail::Engine>(tls::detail::context_of(*client_config),
                                                     Role::client, *transport, std::string());
      engine->expect_server_name(server_name, client_config->verifies_peer(),
                                 server_name + "|" + transport->peer());
      if (resume_session) engine->offer_session(resume_session.get());
    }
    co_await drive([this] { return engine->handshake(); },
                   Bound::within(timeouts.handshake, errc::handshake_timeout));
    if (!required_origin.empty() && engine->resumed_origin() != required_origin) {
      throw Error(make_error_code(errc::session_not_resumed),
                  "the TLS handshake with " + transport->peer() + " " +
                      (engine->resumed() ? "resumed another connection's" : "resumed no") +
                      " session: it had to resume the session of the connection it belongs "
                      "to (an FTP data connection, its control connection's: RFC 4217 "
                      "§10.2). The connection was closed.");
    }
    tell(true);
  } catch (...) {
    tell(false);
    // A failed or cancelled handshake leaves nothing usable: neither TLS
    // nor plaintext.
    engine.reset();
    abort();
    throw;
  }
}

asio::awaitable<void> StreamState::stop_tls() {
  ensure_open();
  Claim claim = claim_all("stop_tls");
  if (!engine) throw Error(make_error_code(errc::stream_closed), "stop_tls: the stream is not TLS");
  try {
    co_await drive([this] { return engine->stop(); },
                   Bound::within(timeouts.close, errc::close_timeout));
  } catch (...) {
    abort();
    throw;
  }
  engine.reset();
}

}  // namespace uptls::detail
