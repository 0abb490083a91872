#pragma once
// The TLS engine: one OpenSSL SSL object that reads and writes the
// transport directly through a small BIO. The BIO first hands out the bytes
// carried over from the plaintext phase (server role), then reads the
// transport; it never blocks, so every step answers "done", "want read" or
// "want write" and the stream waits for readiness. The engine makes no
// system call of its own.

#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "tls/handles.hpp"
#include "tls/session_cache.hpp"
#include "uptls/role.hpp"
#include "uptls/tls/session_info.hpp"
#include "uptls/transport.hpp"

namespace uptls::tls::detail {

enum class Want { nothing, read, write };

/// The result of one engine step: want is nothing when the step finished,
/// with bytes transferred (0 from read means the peer's close_notify).
struct Step {
  Want want = Want::nothing;
  std::size_t bytes = 0;
};

class Engine {
 public:
  /// @param carried bytes read in plaintext that begin the peer's handshake.
  /// @param transport outlives the engine.
  Engine(SSL_CTX* ctx, Role role, Transport& transport, std::string carried);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Client role: the name to send as SNI (not for IP literals) and to
  /// verify; a session cached under session_key is offered for resumption.
  void expect_server_name(const std::string& name, bool verify, std::string session_key);
  /// Server role: the name a client that sends no SNI is answered for.
  void answer_without_sni(std::string name);

  /// Each throws Error with the whole reason when the connection failed.
  Step handshake();
  Step read(void* data, std::size_t size);
  Step write(const void* data, std::size_t size);
  /// Sends close_notify, then reads (and discards) until the peer's arrives.
  Step shutdown();
  /// Sends close_notify and keeps the connection readable (a half-close).
  Step send_close_notify();
  /// Ends TLS and keeps the transport for plaintext (FTP's CCC): reads
  /// record by record from now on (no read-ahead, so that no plaintext byte
  /// after the peer's close_notify is taken), sends close_notify and waits
  /// for the peer's. Done when both went; throws if the peer sent
  /// application data first, or if bytes after its close_notify were
  /// already read ahead (they cannot be handed back).
  Step stop();
  /// Sends close_notify if that needs no wait: the handshake is done, no
  /// record is half-written and the transport takes it at once. For a
  /// stream that is being ended without a close().
  void notify_close() noexcept;

  SSL* ssl() const noexcept { return ssl_.get(); }
  /// Server role: how many TLS 1.3 session tickets go out after the
  /// handshake (before it begins).
  void set_session_tickets(std::size_t count) noexcept;
  /// Client role: offers session for resumption (before the handshake).
  void offer_session(SSL_SESSION* session) noexcept;
  /// Whether the handshake resumed a session.
  bool resumed() const noexcept;
  /// The negotiated version and cipher, as OpenSSL names them (for a
  /// Server's statistics: cheaper than session_info()).
  const char* version() const noexcept;
  const char* cipher() const noexcept;
  /// A copy of this connection's session, for another connection to offer
  /// (a copy: a handshake updates the session it resumes). Null: none.
  SessionPtr session_copy() const;
  /// The peer's certificate, when it sent one.
  std::optional<CertificateInfo> peer_certificate() const;
  /// The chain the peer sent, its own certificate first.
  std::vector<CertificateInfo> peer_chain() const;
  /// Server role: this connection's random token, carried by the tickets it
  /// issues; resumed_origin() is the token of the session resumed.
  const std::string& origin() const noexcept { return origin_; }
  std::string resumed_origin() const;
  /// Whether a write was accepted in part: its record must be finished
  /// before anything else is written.
  bool write_pending() const noexcept {
    return accepted_ > 0 || !bio_.out.empty() || SSL_want_write(ssl_.get());
  }
  SessionInfo session_info() const;
  /// The verdict OpenSSL reached on the peer's chain and name.
  Verification verification(bool checked) const;
  /// The verdict of the OCSP response the server stapled (client role).
  std::string ocsp_status() const;

  /// What the BIO works on; only the BIO callbacks touch it.
  struct BioState {
    Transport* transport = nullptr;
    std::string carried;
    std::size_t carried_pos = 0;
    // The transport's failure, kept for the error OpenSSL cannot carry.
    std::error_code last_error;
    // The first bytes the peer sent during the handshake, to say what came
    // when it was not TLS; released when the handshake is done.
    std::string first_bytes;
    // The header of the last record the peer sent during the handshake, to
    // name a TLS record that came where it may not.
    std::string last_header;
    bool handshaking = true;
    // Handshake flights and the records of one write are gathered and sent
    // with one system call; other output (alerts, key updates) goes straight out.
    bool coalesce = true;
    std::string out;
    std::size_t out_pos = 0;
  };

 private:
  enum class Op { handshake, read, write, shutdown };
  Step finish(Op op, int result);
  /// Sends gathered records; false while some remain.
  bool flush(Op op);
  [[noreturn]] void fail(Op op, int ssl_error);
  bool peer_vanished(int ssl_error) const;
  /// For a handshake that got no TLS: the peer's first bytes, and what to do.
  std::string what_came_instead() const;
  void keep_resumed_session();
  /// After the peer's close_notify: throws if any byte followed it.
  void refuse_bytes_after_close();
  [[noreturn]] void fail_verification(long result);
  /// The reason a verification failed, as the handshake words it.
  std::string verification_message(long result) const;

  BioState bio_;
  SslPtr ssl_;
  std::string expected_name_;
  std::string session_key_;
  std::string origin_;
  std::string name_without_sni_;
  bool server_;
  bool shutdown_sent_ = false;
  bool peer_closed_ = false;
  std::exception_ptr deferred_failure_;
  // Bytes of the last write that are encrypted but not yet all sent.
  std::size_t accepted_ = 0;
  static constexpr std::size_t max_gathered_write = 4 * 16384;
};

}  // namespace uptls::tls::detail
