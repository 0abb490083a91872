#pragma once
// The minimal sessions of `uptls serve PROTO`: what a server serves once
// its STARTTLS dialogue (uptls/starttls.hpp) has handed the stream over,
// over TLS, or in plaintext under Policy::opportunistic. Demo content (a
// mailbox of one message, mail accepted and discarded, an empty directory,
// SELECT 1, a file store of one file), not part of the library: the CLI and
// the tests link it.

#include <asio/awaitable.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "uptls/starttls.hpp"
#include "uptls/stream.hpp"

namespace uptls::sessions {

/// Names and limits of a session.
struct Options {
  Options() = default;
  /// The server's name in replies.
  std::string host_name = "localhost";
  /// The longest line accepted from the client, terminator excluded.
  std::size_t max_line = 8192;
  /// The largest message, command or upload accepted (and discarded).
  std::size_t max_message = 10 * 1024 * 1024;
  /// FTP: under Policy::required (the default) data connections must be
  /// protected (PROT P), else `522`.
  starttls::Policy policy = starttls::Policy::required;
  /// FTP: whether a protected data connection must resume the control
  /// connection's TLS session (RFC 4217 §10.2), as vsftpd's
  /// require_ssl_reuse=YES does by default: only the client that opened
  /// the control connection can then take the data. false also serves
  /// clients that never resume (Python's ftplib as shipped), from the
  /// control connection's address still.
  bool require_session_reuse = true;
  /// Called with a line for each thing the session did ("mail from <a> to 1
  /// recipient(s), 512 bytes, discarded"); may be empty.
  std::function<void(std::string_view)> log;
};

/// What the server's dialogue offers before TLS for the session that
/// follows (ServerDialogueOptions::capabilities): SMTP's SIZE and 8BITMIME,
/// POP3's TOP and UIDL, ...
/// @param protocol the protocol.
/// @param options the session's limits (SMTP's SIZE).
std::vector<std::string> capabilities_before_tls(starttls::Protocol protocol,
                                                 const Options& options);

/// The session of a protocol, as a pure dialogue in the server's role that
/// never upgrades (feed it as a Dialogue; run() drives it).
/// @param protocol the protocol.
/// @param handed_over what the server's dialogue learned: whether TLS is up,
///        the client's name (EHLO's).
/// @param options names and limits.
std::unique_ptr<starttls::Dialogue> make_session(starttls::Protocol protocol,
                                                 const starttls::Learned& handed_over,
                                                 Options options);

/// Serves a protocol's session on a stream the server's dialogue handed
/// over, until the client quits; FTP's data connections are opened here.
/// @param stream the stream, upgraded (or plaintext under
///        Policy::opportunistic).
/// @param protocol the protocol.
/// @param handed_over what the server's dialogue learned.
/// @param options names and limits.
/// @throws Error as starttls::run() does.
asio::awaitable<void> serve(Stream& stream, starttls::Protocol protocol,
                            starttls::Learned handed_over, Options options);

}  // namespace uptls::sessions
