#pragma once
/// @file
/// What every STARTTLS dialogue shares: the pure state machine interface
/// (bytes in, bytes out, "upgrade now", "done", "refused because ..."), the
/// policies, what a dialogue learned, and the coroutine that runs a
/// dialogue on a Stream.
///
/// Each protocol (uptls/starttls/smtp.hpp, imap.hpp, ...) has a client and a
/// server dialogue built on Dialogue; uptls/starttls.hpp picks one by name.

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "uptls/error.hpp"
#include "uptls/export.hpp"
#include "uptls/starttls/reply.hpp"
#include "uptls/stream.hpp"

namespace uptls::starttls {

/// What a client does when the server does not offer STARTTLS or refuses it.
enum class Policy {
  /// Fail with errc::starttls_unavailable, quoting the server: no silent
  /// downgrade. The default.
  required,
  /// Carry on in plaintext; Learned::tls is false and Learned::plaintext_reason
  /// says why, for the caller to say loudly.
  opportunistic,
};

/// What a dialogue wants next.
enum class Next {
  /// More bytes from the peer (after its output, if any, is sent).
  receive,
  /// Send the output, then start the TLS handshake; the peer may have sent
  /// nothing after the go-ahead (receive() enforces it).
  start_tls,
  /// Send the output, then end TLS and go on in plaintext on the same
  /// connection (FTP's CCC: Stream::stop_tls).
  stop_tls,
  /// The dialogue is over: send the output and hand the stream back.
  done,
  /// The dialogue failed: send the output (a server's refusal), then close;
  /// error() says why.
  failed,
};

/// What a dialogue learned. A client learns the server's greeting and, once
/// TLS is up, its capabilities, asked for again over TLS: nothing the
/// server said in plaintext survives the upgrade except the greeting,
/// which is kept for display only.
struct Learned {
  /// Whether the stream was upgraded (false only under Policy::opportunistic).
  bool tls = false;
  /// Client: the server's plaintext greeting (its first reply, lines joined
  /// by "\n"). Server: the name the client gave (EHLO, LHLO, ...).
  std::string greeting;
  /// Client: the server's greeting as it came, every byte (SMTP's `220-`
  /// lines with their CRLFs, MySQL's handshake packet with its scramble), for
  /// a relay to pass on; empty where the client speaks first (LDAP,
  /// PostgreSQL, XMPP, IRC, HTTP).
  std::string raw_greeting;
  /// Client: the server's capabilities, as the server said them over TLS
  /// (or in plaintext when the upgrade did not happen). Server: empty.
  std::vector<std::string> capabilities;
  /// Why the stream stayed plaintext, when it did: what the server said.
  std::string plaintext_reason;
  /// Server: the client ended the plaintext phase itself (QUIT, LOGOUT,
  /// UnbindRequest, the end of the connection), so nothing is left to serve.
  /// false when the dialogue handed the stream over: upgraded, or (under
  /// Policy::opportunistic) with the client's first command that needs TLS
  /// left unread.
  bool client_left = false;
};

/// Limits and names for a client dialogue.
struct ClientDialogueOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  ClientDialogueOptions() = default;
  /// Required (the default) or opportunistic.
  Policy policy = Policy::required;
  /// The client's own name where the protocol sends one (EHLO, LHLO).
  std::string client_name = "localhost";
  /// The server's name where the protocol sends one (XMPP's `to`, HTTP's
  /// Host); empty: the name given to the stream for verification.
  std::string server_name;
  /// The longest line accepted from the server, terminator excluded.
  std::size_t max_line = 8192;
  /// The most lines accepted in one reply (SMTP's 250-, FTP's 220-).
  std::size_t max_reply_lines = 1000;
};

/// Names, offers and limits of a server dialogue. A server dialogue ends
/// at TLS: what the server serves after it (mail, a mailbox, queries) is the
/// application's, and so is what it advertises for that.
struct ServerDialogueOptions {
  // Not an aggregate: see "Options are not aggregates" in docs/defaults.md.
  ServerDialogueOptions() = default;
  /// The server's name in greetings and replies.
  std::string host_name = "localhost";
  /// The text of the greeting after its status (`220 `, `+OK `, `* OK `,
  /// `200 `), for the protocols that greet with a line; empty: the host
  /// name and the protocol (`localhost ESMTP`). Say no more than a client
  /// needs: a greeting is sent in plaintext to anyone.
  std::string greeting;
  /// What the server lists before TLS besides the upgrade and what the
  /// dialogue itself serves: SMTP EHLO keywords (`SIZE 10485760`, `8BITMIME`),
  /// POP3 CAPA and NNTP CAPABILITIES lines, IMAP CAPABILITY atoms,
  /// ManageSieve capability lines (`"SIEVE" "fileinto"`), FTP FEAT lines.
  /// Empty (the default): a server advertises only what it has.
  std::vector<std::string> capabilities;
  /// Whether commands that need TLS are refused before it (the default) or
  /// handed to the application in plaintext: the dialogue is done, the
  /// command left unread.
  Policy policy = Policy::required;
  /// The longest line accepted from the client, terminator excluded.
  std::size_t max_line = 8192;
};

/// A pure STARTTLS dialogue: no I/O. Feed it what the peer sent with
/// receive(), send what take_output() gives, and act on next(). The
/// driver, run(), does exactly that over a Stream; tests and fuzzers feed
/// bytes directly.
///
/// The upgrade rules are enforced here, the same for every protocol:
/// - a client refuses bytes that follow the server's go-ahead (response
///   injection): they would be read as if they came over TLS;
/// - a server refuses bytes pipelined after the STARTTLS command
///   (command injection, CVE-2011-0411) and answers with the protocol's
///   error instead of its go-ahead;
/// - everything learned before TLS (capabilities, names, state) is
///   discarded when TLS starts and asked for again.
class UPTLS_API Dialogue {
 public:
  /// Destroys the dialogue.
  virtual ~Dialogue();
  /// Not copyable: a dialogue is the state of one connection.
  Dialogue(const Dialogue&) = delete;
  /// Not copyable.
  Dialogue& operator=(const Dialogue&) = delete;

  /// Reads bytes from the peer.
  /// @param bytes everything received and not yet consumed (the driver
  ///        passes its whole buffer; a partial line stays for the next call).
  /// @returns how many bytes were consumed from the front.
  std::size_t receive(std::string_view bytes);
  /// The peer ended the connection cleanly.
  void end_of_input();
  /// The TLS handshake finished (after next() said start_tls).
  void tls_started();
  /// TLS ended, the connection goes on in plaintext (after next() said
  /// stop_tls).
  void tls_stopped();

  /// What the dialogue wants next.
  Next next() const noexcept { return next_; }
  /// Bytes to send to the peer now; empties the output.
  std::string take_output();
  /// Whether there is output to send.
  bool has_output() const noexcept { return !output_.empty(); }
  /// Why the dialogue failed (next() == Next::failed).
  std::error_code error() const noexcept { return error_; }
  /// The message of the failure, quoting the peer where it said something.
  const std::string& error_message() const noexcept { return error_message_; }
  /// What the dialogue learned so far.
  const Learned& learned() const noexcept { return learned_; }
  /// The role the dialogue speaks: client or server (the stream's Role).
  Role role() const noexcept { return role_; }
  /// Whether the bytes not consumed at start_tls begin the client's
  /// handshake (CarryOver::feed_handshake) rather than being refused.
  bool feeds_handshake() const noexcept { return feeds_handshake_; }
  /// The protocol's name, as `uptls` commands spell it ("smtp", "imap", ...).
  virtual std::string_view protocol() const noexcept = 0;
  /// What the dialogue waits for, as a timeout's message names it:
  /// "greeting from the server", "reply to EHLO from the server", "complete
  /// command from the client". Never a command's arguments (they may be
  /// credentials).
  virtual std::string awaiting() const;

 protected:
  /// @param role the role this dialogue speaks.
  /// @param max_line the longest line accepted from the peer.
  Dialogue(Role role, std::size_t max_line);

  /// Consumes one unit (a line, a message) from the front of bytes, or
  /// returns 0 when bytes hold no complete unit yet. Called again while it
  /// makes progress and next() is receive.
  virtual std::size_t on_receive(std::string_view bytes) = 0;
  /// TLS is up: forget what was learned, ask again (a client), or go on.
  virtual void on_tls() = 0;
  /// The peer ended the connection; the default fails, quoting the state.
  virtual void on_end_of_input();

  /// Queues bytes for the peer.
  /// @param bytes what to send.
  void send(std::string_view bytes);
  /// Waits for the peer.
  void expect_input() noexcept { next_ = Next::receive; }
  /// Asks for the TLS handshake once the output is sent.
  void upgrade() noexcept { next_ = Next::start_tls; }
  /// A server's answer to a client that starts its handshake at once
  /// (PostgreSQL's direct TLS): the bytes not consumed are its ClientHello
  /// and go to the handshake.
  void upgrade_feeding_handshake() noexcept {
    next_ = Next::start_tls;
    feeds_handshake_ = true;
  }
  /// Asks for TLS to end once the output is sent (FTP's CCC).
  void clear() noexcept { next_ = Next::stop_tls; }
  /// Ends the dialogue.
  void finish() noexcept { next_ = Next::done; }
  /// Ends a server's dialogue because the client left (Learned::client_left).
  void peer_left() noexcept {
    learned_.client_left = true;
    next_ = Next::done;
  }
  /// Fails the dialogue.
  /// @param code the error.
  /// @param message what happened, quoting the peer.
  void fail(errc code, std::string message);
  /// A client's answer to a server that does not offer or refuses
  /// STARTTLS: fails under Policy::required, finishes in plaintext under
  /// Policy::opportunistic.
  /// @param policy the client's policy.
  /// @param reason what the server said, for the message.
  void unavailable(Policy policy, std::string reason);
  /// Whether a capability list offers the upgrade (a capability whose first
  /// word is name, in any case); when it does not, answers as unavailable()
  /// does, quoting the list.
  /// @param policy the client's policy.
  /// @param capabilities what the server listed.
  /// @param name the capability of the upgrade (STARTTLS, STLS).
  /// @param separator what the quoted list is joined with.
  bool offers(Policy policy, const std::vector<std::string>& capabilities, std::string_view name,
              std::string_view separator = " / ");
  /// A server's answer to STARTTLS: its go-ahead when nothing follows the
  /// command, else the refusal and a failure (command injection).
  /// @param rest the bytes after the STARTTLS command.
  /// @param go_ahead the go-ahead reply.
  /// @param refusal the reply to pipelined bytes.
  void accept_starttls(std::string_view rest, std::string_view go_ahead, std::string_view refusal);

  /// The first line of bytes, without its terminator, or nothing while it
  /// is incomplete (fails the dialogue when it is over the limit).
  /// @param bytes the bytes to search.
  /// @param consumed set to the length of the line with its terminator.
  std::optional<std::string_view> take_line(std::string_view bytes, std::size_t& consumed);
  /// The next complete numeric reply (SMTP, FTP), reading at most one line
  /// of bytes; fails the dialogue on a malformed one.
  /// @param bytes the bytes to read.
  /// @param consumed set to how many were consumed.
  /// @param reader the reply read so far.
  std::optional<Reply> take_reply(std::string_view bytes, std::size_t& consumed,
                                  ReplyReader& reader);

  /// Where a reader of responses with literals (IMAP, ManageSieve) is.
  struct LiteralState {
    /// Literal bytes still to skip.
    std::size_t due = 0;
    /// Whether the next line goes on with the last response (after a literal).
    bool continued = false;
  };
  /// The first line of bytes if it begins a response; literal data (`{n}`
  /// and n bytes) and the lines that go on after it are consumed and
  /// skipped, never read as responses. Fails on a literal over max_literal.
  /// @param bytes the bytes to read.
  /// @param consumed set to how many were consumed.
  /// @param literals the reader's state.
  /// @param max_literal the largest literal accepted.
  std::optional<std::string_view> take_response_line(std::string_view bytes, std::size_t& consumed,
                                                     LiteralState& literals,
                                                     std::size_t max_literal);

  /// The peer's name in messages: "the server" or "the client".
  std::string_view peer_name() const noexcept;

  /// What was learned; protocols fill it in.
  Learned learned_;
  /// The line limit.
  std::size_t max_line_;

 private:
  Role role_;
  Next next_ = Next::receive;
  bool feeds_handshake_ = false;
  std::string output_;
  // A client's last command verb ("EHLO"), for awaiting(); whether it sent any.
  std::string last_verb_;
  bool sent_ = false;
  std::error_code error_;
  std::string error_message_;
};

/// How long a dialogue waits for one reply or command when the stream has
/// no idle timeout: RFC 5321 §4.5.3.2 asks SMTP clients to wait 5 minutes
/// for most replies, and servers 5 minutes for the next command.
inline constexpr std::chrono::milliseconds default_idle_timeout{300'000};

/// Runs a dialogue on a stream until it is done: writes its output, feeds
/// it the stream's bytes, upgrades the stream when it asks (with the
/// configuration stored in the stream; carried-over bytes are refused).
///
/// Each unit the peer sends (a reply, a command, a message) must be
/// complete within the stream's idle timeout (Timeouts::idle, or
/// default_idle_timeout when that is zero), counted from the moment the
/// dialogue last spoke, however the peer trickles its bytes: else
/// errc::idle_timeout, naming what was awaited ("smtp: no reply to EHLO
/// from the server within 3 s").
/// @param stream an upgradeable stream (a client's with a stored
///        ClientConfig and server name, a server's with a ServerConfig).
/// @param dialogue the dialogue, fresh.
/// @returns what the dialogue learned.
/// @throws Error with the dialogue's error (errc::starttls_unavailable,
///         errc::injected_plaintext, errc::protocol_error, ...) after sending
///         what it had to say; the stream is closed then. Or the stream's
///         errors (timeouts, the handshake's).
UPTLS_API asio::awaitable<Learned> run(Stream& stream, Dialogue& dialogue);

}  // namespace uptls::starttls
