#pragma once
/// @file
/// STARTTLS for real protocols, client and server, picked by name: what
/// `uptls serve PROTO` and `uptls connect --starttls PROTO` use. One row of
/// protocols() per protocol: its names, ports, RFC and dialogues, which are
/// pure Dialogues (uptls/starttls/dialogue.hpp) behind make_client() and
/// make_server().

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <asio/awaitable.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "uptls/export.hpp"
#include "uptls/starttls/dialogue.hpp"
#include "uptls/stream.hpp"

namespace uptls::starttls {

/// The protocols uptls speaks the plaintext phase of.
enum class Protocol {
  smtp,
  lmtp,
  imap,
  pop3,
  sieve,
  nntp,
  ldap,
  postgres,
  xmpp,
  xmpp_server,
  irc,
  mysql,
  http_upgrade,
  ftp
};

/// A protocol's names and port.
struct ProtocolInfo {
  /// Which protocol.
  Protocol protocol;
  /// Its name in commands and URLs (`smtp`, `imap`, ...).
  std::string_view name;
  /// The port it is served on by default.
  std::uint16_t port;
  /// The scheme of its implicit-TLS URL (`smtps`), empty when it has none.
  std::string_view implicit_scheme;
  /// The port of implicit TLS, 0 when it has none.
  std::uint16_t implicit_port;
  /// The RFC that defines its STARTTLS.
  std::string_view rfc;
  /// The ALPN protocol its servers agree on, empty for none (`postgresql`:
  /// PostgreSQL 17's direct TLS needs it).
  std::string_view alpn;
  /// A fresh client dialogue: make_client() calls it.
  std::unique_ptr<Dialogue> (*make_client)(ClientDialogueOptions options);
  /// A fresh server dialogue: make_server() calls it.
  std::unique_ptr<Dialogue> (*make_server)(ServerDialogueOptions options);
};

/// Every protocol, in the order of the documentation.
UPTLS_API const std::vector<ProtocolInfo>& protocols();

/// The protocol of a name (`smtp`), or of an implicit-TLS URL scheme
/// (`smtps`, with implicit set); nothing for an unknown one.
/// @param name the name, in lower case.
/// @param implicit set to whether the name was an implicit-TLS scheme.
UPTLS_API std::optional<ProtocolInfo> protocol_named(std::string_view name,
                                                     bool* implicit = nullptr);

/// What a protocol is called and served on.
/// @param protocol the protocol.
UPTLS_API const ProtocolInfo& info(Protocol protocol);

/// A fresh client dialogue for a protocol.
/// @param protocol the protocol.
/// @param options policy, names, limits.
UPTLS_API std::unique_ptr<Dialogue> make_client(Protocol protocol,
                                                ClientDialogueOptions options = {});

/// A fresh server dialogue for a protocol.
/// @param protocol the protocol.
/// @param options names, offers, policy, limits.
UPTLS_API std::unique_ptr<Dialogue> make_server(Protocol protocol,
                                                ServerDialogueOptions options = {});

/// A fresh client dialogue of a tunnel through an HTTP proxy: `CONNECT
/// authority`, optionally with Basic credentials; done on a 2xx answer, with
/// the origin's bytes (if it spoke first) left unread for the protocol's own
/// dialogue. A refusal (407, 403, 502, ...) quotes the proxy's status line.
/// @param authority the origin as `host:port` (`[v6]:port`).
/// @param basic_credentials `user:password` for Proxy-Authorization, or empty.
/// @param options limits.
UPTLS_API std::unique_ptr<Dialogue> make_http_connect(std::string authority,
                                                      std::string basic_credentials = {},
                                                      ClientDialogueOptions options = {});

/// Speaks a protocol's plaintext phase as a client and upgrades the
/// stream in place: `co_await starttls::client(stream, Protocol::smtp)`.
/// @param stream an upgradeable client stream (open_connection with
///        ConnectOptions::upgradeable), nothing read from it yet.
/// @param protocol the protocol.
/// @param options policy, names, limits.
/// @returns what was learned: the greeting, the capabilities over TLS.
/// @throws Error as run() does: errc::starttls_unavailable quoting the
///         server (Policy::required), errc::injected_plaintext,
///         errc::protocol_error, or the stream's errors.
UPTLS_API asio::awaitable<Learned> client(Stream& stream, Protocol protocol,
                                          ClientDialogueOptions options = {});

/// Speaks a protocol's plaintext phase as a server and upgrades the stream
/// in place; what the client sends over TLS is the application's.
/// Learned::tls is false when the client left before TLS
/// (Learned::client_left), or (under Policy::opportunistic) went on in
/// plaintext: the command it sent then is left unread, for the application.
/// @param stream an upgradeable server stream (a Server's with
///        ServeOptions::upgradeable).
/// @param protocol the protocol.
/// @param options names, offers, policy, limits.
/// @throws Error as run() does, after sending the protocol's refusal.
UPTLS_API asio::awaitable<Learned> server(Stream& stream, Protocol protocol,
                                          ServerDialogueOptions options = {});

/// Initiates client() with any completion token (`co_await
/// starttls::async_client(stream, Protocol::smtp)`, a callback,
/// `asio::use_future`, `as_tuple`, ...).
/// @param stream as client()'s; it must stay where it is until completion.
/// @param protocol the protocol.
/// @param options policy, names, limits.
/// @param token completion token for `void(std::error_code, Learned)`. A
///        failure never completes with success; its whole message (quoting
///        the server) is stream.error_message().
template <typename Token = asio::use_awaitable_t<>>
auto async_client(Stream& stream, Protocol protocol, ClientDialogueOptions options,
                  Token&& token = Token()) {
  return detail::launch<void(std::error_code, Learned)>(
      stream.get_executor(), std::forward<Token>(token),
      uptls::detail::result_on(stream, client(stream, protocol, std::move(options))));
}

/// Initiates client() with the default options.
template <typename Token = asio::use_awaitable_t<>>
requires(!std::is_convertible_v<Token, ClientDialogueOptions>) auto async_client(
    Stream& stream, Protocol protocol, Token&& token = Token()) {
  return async_client(stream, protocol, ClientDialogueOptions(), std::forward<Token>(token));
}

/// Initiates server() with any completion token.
/// @param stream as server()'s; it must stay where it is until completion.
/// @param protocol the protocol.
/// @param options names, offers, policy, limits.
/// @param token completion token for `void(std::error_code, Learned)`; a
///        failure's whole message is stream.error_message().
template <typename Token = asio::use_awaitable_t<>>
auto async_server(Stream& stream, Protocol protocol, ServerDialogueOptions options,
                  Token&& token = Token()) {
  return detail::launch<void(std::error_code, Learned)>(
      stream.get_executor(), std::forward<Token>(token),
      uptls::detail::result_on(stream, server(stream, protocol, std::move(options))));
}

/// Initiates server() with the default options.
template <typename Token = asio::use_awaitable_t<>>
requires(!std::is_convertible_v<Token, ServerDialogueOptions>) auto async_server(
    Stream& stream, Protocol protocol, Token&& token = Token()) {
  return async_server(stream, protocol, ServerDialogueOptions(), std::forward<Token>(token));
}

/// Initiates run() with any completion token.
/// @param stream as run()'s; it must stay where it is until completion.
/// @param dialogue the dialogue, fresh; it must outlive the operation.
/// @param token completion token for `void(std::error_code, Learned)`; a
///        failure's whole message is stream.error_message().
template <typename Token = asio::use_awaitable_t<>>
auto async_run(Stream& stream, Dialogue& dialogue, Token&& token = Token()) {
  return detail::launch<void(std::error_code, Learned)>(
      stream.get_executor(), std::forward<Token>(token),
      uptls::detail::result_on(stream, run(stream, dialogue)));
}

}  // namespace uptls::starttls
