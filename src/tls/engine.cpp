#include "tls/engine.hpp"

#include <openssl/ocsp.h>
#include <openssl/rand.h>

#include "host_name.hpp"
#include "printable.hpp"
#include "tls/certificates.hpp"
#include "tls/config_access.hpp"
#include "tls/errors.hpp"
#include "tls/session_cache.hpp"
#include "tls/ticket_keys.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <system_error>
#include <utility>

namespace uptls::tls::detail {

using uptls::detail::is_ip_literal;
using uptls::detail::printable;

namespace {

Engine::BioState* state_of(BIO* bio) { return static_cast<Engine::BioState*>(BIO_get_data(bio)); }

constexpr std::size_t first_bytes_kept = 64;

int bio_read(BIO* bio, char* out, int size) {
  Engine::BioState* t = state_of(bio);
  BIO_clear_retry_flags(bio);
  std::size_t n = 0;
  if (t->carried_pos < t->carried.size()) {
    n = std::min(static_cast<std::size_t>(size), t->carried.size() - t->carried_pos);
    std::memcpy(out, t->carried.data() + t->carried_pos, n);
    t->carried_pos += n;
    if (t->carried_pos == t->carried.size()) {
      std::string().swap(t->carried);
      t->carried_pos = 0;
    }
  } else {
    std::error_code ec;
    n = t->transport->read_some(asio::buffer(out, static_cast<std::size_t>(size)), ec);
    if (is_would_block(ec)) {
      BIO_set_retry_read(bio);
      return -1;
    }
    if (ec) {
      t->last_error = ec;
      return -1;
    }
  }
  if (t->handshaking && t->first_bytes.size() < first_bytes_kept) {
    t->first_bytes.append(out, std::min(n, first_bytes_kept - t->first_bytes.size()));
  }
  return static_cast<int>(n);
}

// Sends what was gathered; true when nothing is left.
bool send_gathered(Engine::BioState* t) {
  while (t->out_pos < t->out.size()) {
    std::error_code ec;
    std::size_t n = t->transport->write_some(
        asio::buffer(t->out.data() + t->out_pos, t->out.size() - t->out_pos), ec);
    if (ec) {
      if (!is_would_block(ec)) t->last_error = ec;
      return false;
    }
    t->out_pos += n;
  }
  std::string().swap(t->out);
  t->out_pos = 0;
  return true;
}

int bio_write(BIO* bio, const char* data, int size) {
  Engine::BioState* t = state_of(bio);
  BIO_clear_retry_flags(bio);
  if (t->coalesce) {
    t->out.append(data, static_cast<std::size_t>(size));
    return size;
  }
  if (!send_gathered(t)) {
    if (!t->last_error) BIO_set_retry_write(bio);
    return -1;
  }
  std::error_code ec;
  std::size_t n = t->transport->write_some(asio::buffer(data, static_cast<std::size_t>(size)), ec);
  if (!ec) return static_cast<int>(n);
  if (is_would_block(ec)) {
    BIO_set_retry_write(bio);
  } else {
    t->last_error = ec;
  }
  return -1;
}

long bio_ctrl(BIO* bio, int cmd, long, void*) {
  if (cmd != BIO_CTRL_FLUSH) return 0;
  Engine::BioState* t = state_of(bio);
  BIO_clear_retry_flags(bio);
  if (send_gathered(t)) return 1;
  if (t->last_error) return 0;
  // In the handshake, what the transport cannot take yet waits in `out`
  // and Engine::handshake sends it after each step (waiting for room as
  // needed): OpenSSL's handshake buffering BIO sits above this one and does
  // not pass a retry on from a flush (OpenSSL 3.0), so a full transport
  // would become SSL_ERROR_SYSCALL, "the peer closed the connection".
  if (t->coalesce) return 1;
  BIO_set_retry_write(bio);
  return 0;
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* transport_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "uptls transport");
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

bool not_tls(unsigned long e) {
  if (ERR_GET_LIB(e) != ERR_LIB_SSL) return false;
  switch (ERR_GET_REASON(e)) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
      return true;
    default:
      return false;
  }
}

/// Whether bytes begin with a TLS handshake record (RFC 8446 §5.1: content
/// type 22, legacy version 3.x).
bool starts_as_tls(std::string_view bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x16 && bytes[1] == 0x03;
}

// Keeps the header of each record read during the handshake (OpenSSL
// reports it before checking it).
void on_record(int write_p, int, int content_type, const void* buf, std::size_t len, SSL*,
               void* arg) {
  if (write_p || content_type != SSL3_RT_HEADER || len != SSL3_RT_HEADER_LENGTH) return;
  static_cast<Engine::BioState*>(arg)->last_header.assign(static_cast<const char*>(buf), len);
}

/// A TLS record header (RFC 8446 §5.1) in words: "a TLS alert record with
/// record version 3.1"; empty when header is not one.
std::string record_in_words(std::string_view header) {
  if (header.size() != SSL3_RT_HEADER_LENGTH || header[1] != 3) return {};
  static constexpr const char* types[] = {"change_cipher_spec", "alert", "handshake",
                                          "application_data", "heartbeat"};
  std::size_t type =
      static_cast<unsigned char>(header[0]) - std::size_t{SSL3_RT_CHANGE_CIPHER_SPEC};
  if (type >= std::size(types)) return {};
  return std::string("a TLS ") + types[type] + " record with record version 3." +
         std::to_string(static_cast<unsigned char>(header[2]));
}

// What the first OpenSSL error of a failure means for the user. Certificate
// alerts can come with the first read (TLS 1.3 clients finish before the
// server has checked their certificate); the negotiation's causes
// (versions, ciphers, ALPN, SNI) are named for a failed handshake only:
// after it, the same alerts mean something else (a peer refusing a
// renegotiation sends handshake_failure).
std::string hint(unsigned long e, bool server, bool handshake, std::string_view first_bytes,
                 std::string_view last_header) {
  if (ERR_GET_LIB(e) != ERR_LIB_SSL) return {};
  if (not_tls(e)) {
    if (!handshake) return "the peer sent bytes that are not TLS records";
    if (starts_as_tls(first_bytes)) {
      std::string record = record_in_words(last_header);
      if (!record.empty() && ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER) {
        // testssl.sh's socket client ends with an alert that says 3.1.
        return "the peer sent " + record +
               " after the version was agreed, when records must say 3.3 (RFC 8446 §5.1)";
      }
      return "the peer began the handshake, then sent bytes that are not TLS records";
    }
    return server ? "the client's first bytes are not a TLS ClientHello"
                  : "the server's answer is not TLS";
  }
  auto negotiation = [handshake](const char* meaning) {
    return handshake ? std::string(meaning) : std::string();
  };
  switch (ERR_GET_REASON(e)) {
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return "the server requires a client certificate: configure one";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return "the client sent no certificate, and one is required";
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      return "the peer rejected our certificate";
    case SSL_R_NO_APPLICATION_PROTOCOL:
    case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
      return negotiation("no ALPN protocol in common");
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      return negotiation("no TLS version in common");
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      return negotiation("no cipher suite or key-exchange group in common");
    case SSL_R_TLSV1_UNRECOGNIZED_NAME:
      return negotiation("the server has no certificate for the name asked (SNI)");
    default:
      return {};
  }
}

}  // namespace

Engine::Engine(SSL_CTX* ctx, Role role, Transport& transport, std::string carried)
    : ssl_(SSL_new(ctx)), server_(role == Role::server) {
  bio_.transport = &transport;
  bio_.carried = std::move(carried);
  if (!ssl_) throw drain_errors("cannot create a TLS connection");
  BIO* bio = BIO_new(transport_method());
  if (!bio) throw drain_errors("cannot create the transport BIO");
  BIO_set_data(bio, &bio_);
  SSL_set_bio(ssl_.get(), bio, bio);
  SSL_set_msg_callback(ssl_.get(), on_record);
  SSL_set_msg_callback_arg(ssl_.get(), &bio_);
  // Read whole socket reads at once instead of a header and a body per record.
  SSL_set_read_ahead(ssl_.get(), 1);
  // Several records per socket read while data streams in; the buffer is
  // released whenever it is drained (SSL_MODE_RELEASE_BUFFERS).
  SSL_set_default_read_buffer_len(ssl_.get(), 64 * 1024);
  if (server_) {
    unsigned char token[16];
    if (RAND_bytes(token, sizeof token) != 1) throw drain_errors("cannot make a session token");
    origin_.assign(reinterpret_cast<const char*>(token), sizeof token);
    TicketKeys::set_origin(ssl_.get(), &origin_);
    SSL_set_accept_state(ssl_.get());
  } else {
    SSL_set_connect_state(ssl_.get());
  }
}

std::string Engine::resumed_origin() const { return TicketKeys::resumed_origin(ssl_.get()); }

void Engine::expect_server_name(const std::string& name, bool verify, std::string session_key) {
  expected_name_ = name;
  if (SessionCache* cache = SessionCache::of(SSL_get_SSL_CTX(ssl_.get()))) {
    session_key_ = std::move(session_key);
    SessionCache::set_key(ssl_.get(), &session_key_);
    if (SessionPtr session = cache->take(session_key_)) SSL_set_session(ssl_.get(), session.get());
  }
  // Before SNI too: c_str() would cut the name at its NUL.
  check_name_to_verify(name);
  // RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in HostName."
  if (!is_ip_literal(name) && !name.empty()) SSL_set_tlsext_host_name(ssl_.get(), name.c_str());
  if (verify) expect_name(SSL_get0_param(ssl_.get()), name);
}

void Engine::answer_without_sni(std::string name) {
  name_without_sni_ = std::move(name);
  detail::answer_without_sni(ssl_.get(), &name_without_sni_);
}

Step Engine::handshake() {
  int result = SSL_do_handshake(ssl_.get());
  Step step = finish(Op::handshake, result);
  // OpenSSL flushes at the end of each flight; flushing here as well makes
  // sure no gathered record waits while we wait for the peer.
  if (!flush(Op::handshake)) return {Want::write, 0};
  if (step.want == Want::nothing) {
    bio_.coalesce = false;
    bio_.handshaking = false;
    std::string().swap(bio_.first_bytes);
    SSL_set_msg_callback(ssl_.get(), nullptr);
    keep_resumed_session();
  }
  return step;
}

void Engine::keep_resumed_session() {
  // A resumed TLS 1.2 session gets no new ticket or id: keep using it.
  // TLS 1.3 sends fresh tickets after every handshake instead.
  SessionCache* cache = server_ ? nullptr : SessionCache::of(SSL_get_SSL_CTX(ssl_.get()));
  if (cache && SSL_session_reused(ssl_.get()) && SSL_version(ssl_.get()) < TLS1_3_VERSION) {
    cache->put(session_key_, SessionPtr(SSL_get1_session(ssl_.get())));
  }
}

void Engine::refuse_bytes_after_close() {
  // DESIGN.md: once TLS is up it never falls back to plaintext. Whatever
  // follows the peer's close_notify, read ahead or still in the socket,
  // is not TLS: it is refused, never delivered.
  // A byte still in the transport is read, not peeked: the stream fails
  // either way, and transports need not support peeking.
  char probe;
  std::error_code ec;
  bool more = SSL_has_pending(ssl_.get()) == 1 ||
              bio_.transport->read_some(asio::buffer(&probe, 1), ec) > 0;
  if (more) {
    throw Error(make_error_code(errc::data_after_close_notify),
                "bytes arrived from " + bio_.transport->peer() +
                    " after its TLS close_notify (it ended TLS, then went on sending); they were "
                    "discarded, never delivered");
  }
}

bool Engine::flush(Op op) {
  if (send_gathered(&bio_)) return true;
  if (bio_.last_error) fail(op, SSL_ERROR_SYSCALL);
  return false;
}

Step Engine::read(void* data, std::size_t size) {
  if (deferred_failure_) std::rethrow_exception(std::exchange(deferred_failure_, nullptr));
  if (peer_closed_) {
    refuse_bytes_after_close();
    return {Want::nothing, 0};
  }
  auto* out = static_cast<char*>(data);
  std::size_t total = 0;
  // Fill the caller's buffer from records already read ahead: no system call.
  do {
    std::size_t n = 0;
    int r = SSL_read_ex(ssl_.get(), out + total, size - total, &n);
    if (r != 1) {
      if (total == 0) {
        Step step = finish(Op::read, r);
        if (step.want == Want::nothing) {
          peer_closed_ = true;
          refuse_bytes_after_close();
        }
        return step;
      }
      // The data comes first; a failure behind it is reported by the next
      // read. It is captured now: the error queue belongs to the thread.
      try {
        finish(Op::read, r);
      } catch (...) {
        deferred_failure_ = std::current_exception();
      }
      return {Want::nothing, total};
    }
    total += n;
  } while (total < size && SSL_has_pending(ssl_.get()));
  return {Want::nothing, total};
}

Step Engine::write(const void* data, std::size_t size) {
  if (accepted_ > 0) {
    if (!flush(Op::write)) return {Want::write, 0};
    return {Want::nothing, std::exchange(accepted_, 0)};
  }
  // Up to four records are encrypted, gathered and sent with one system
  // call; a write of one record goes straight out, with no copy.
  size = std::min(size, max_gathered_write);
  bio_.coalesce = size > SSL3_RT_MAX_PLAIN_LENGTH;
  std::size_t n = 0;
  int r = SSL_write_ex(ssl_.get(), data, size, &n);
  bio_.coalesce = false;
  if (r != 1) return finish(Op::write, r);
  if (!flush(Op::write)) {
    // Encrypted and accepted: report the bytes once they are on their way.
    accepted_ = n;
    return {Want::write, 0};
  }
  return {Want::nothing, n};
}

Step Engine::shutdown() {
  if (!shutdown_sent_) {
    int r = SSL_shutdown(ssl_.get());
    if (r == 1) return {};
    if (r < 0) return finish(Op::shutdown, r);
    shutdown_sent_ = true;
  }
  // RFC 8446 §6.1: each party MUST send a close_notify; we wait for the
  // peer's, discarding application data the caller no longer wants.
  char scratch[4096];
  for (;;) {
    std::size_t n = 0;
    int r = SSL_read_ex(ssl_.get(), scratch, sizeof scratch, &n);
    if (r == 1) continue;
    Step step = finish(Op::shutdown, r);
    if (step.want != Want::nothing || step.bytes == 0) return step;
  }
}

Step Engine::stop() {
  if (!shutdown_sent_) {
    SSL_set_read_ahead(ssl_.get(), 0);
    int r = SSL_shutdown(ssl_.get());
    if (r < 0) return finish(Op::shutdown, r);
    shutdown_sent_ = true;
    if (r == 1) peer_closed_ = true;
  }
  // Our close_notify goes out before we wait for the peer's.
  if (!flush(Op::shutdown)) return {Want::write, 0};
  if (!peer_closed_) {
    char byte;
    std::size_t n = 0;
    int r = SSL_read_ex(ssl_.get(), &byte, 1, &n);
    if (r == 1) {
      throw Error(make_error_code(errc::protocol_error),
                  bio_.transport->peer() +
                      " sent data over TLS while TLS was being ended (stop_tls); it was "
                      "discarded");
    }
    int error = SSL_get_error(ssl_.get(), r);
    if (error != SSL_ERROR_ZERO_RETURN) {
      Step step = finish(Op::read, r);
      if (step.want != Want::nothing) return step;
    }
    peer_closed_ = true;
  }
  if (SSL_has_pending(ssl_.get()) == 1 || bio_.carried_pos < bio_.carried.size()) {
    throw Error(make_error_code(errc::data_after_close_notify),
                "bytes from " + bio_.transport->peer() +
                    " that followed its close_notify were read ahead with it and cannot be "
                    "handed back as plaintext; the connection was closed");
  }
  return {};
}

Step Engine::send_close_notify() {
  if (!shutdown_sent_) {
    int r = SSL_shutdown(ssl_.get());
    if (r < 0) return finish(Op::shutdown, r);
    shutdown_sent_ = true;
  }
  if (!flush(Op::shutdown)) return {Want::write, 0};
  return {};
}

void Engine::notify_close() noexcept {
  if (shutdown_sent_ || write_pending() || !SSL_is_init_finished(ssl_.get())) return;
  shutdown_sent_ = true;
  if (SSL_shutdown(ssl_.get()) < 0) ERR_clear_error();
}

Step Engine::finish(Op op, int result) {
  if (op == Op::handshake && result == 1) return {};
  int error = SSL_get_error(ssl_.get(), result);
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return {Want::read, 0};
    case SSL_ERROR_WANT_WRITE:
      return {Want::write, 0};
    case SSL_ERROR_ZERO_RETURN:
      return {Want::nothing, 0};
    default:
      // A peer that vanishes while we wait for its close_notify leaves nothing to wait for.
      if (op == Op::shutdown && peer_vanished(error)) {
        ERR_clear_error();
        return {Want::nothing, 0};
      }
      fail(op, error);
  }
}

void Engine::fail(Op op, int ssl_error) {
  // Best effort: let the peer see the alert that explains the failure.
  if (!bio_.last_error) send_gathered(&bio_);
  std::string with_peer = " with " + bio_.transport->peer();
  if (bio_.last_error) {
    ERR_clear_error();
    throw std::system_error(
        bio_.last_error,
        (op == Op::handshake ? "TLS handshake failed" : "TLS connection failed") + with_peer);
  }
  unsigned long first = ERR_peek_error();
  if (peer_vanished(ssl_error)) {
    ERR_clear_error();
    if (op == Op::handshake && server_ && bio_.first_bytes.empty()) {
      throw Error(make_error_code(errc::unexpected_eof),
                  "TLS handshake failed" + with_peer +
                      ": the client closed the connection without sending anything. A client "
                      "that waits for a plaintext greeting gets none from a server that starts "
                      "with TLS: for a protocol that starts in plaintext, set "
                      "ServeOptions::upgradeable (uptls serve: no --implicit-tls) and call "
                      "start_tls at the protocol's signal");
    }
    if (op == Op::handshake) {
      throw Error(
          make_error_code(errc::unexpected_eof),
          "TLS handshake failed" + with_peer + ": the peer closed the connection" +
              (server_ && !starts_as_tls(bio_.first_bytes) ? what_came_instead() : std::string()));
    }
    throw Error(make_error_code(errc::tls_truncated),
                "the peer closed the TCP connection without a TLS close_notify: the data "
                "may have been truncated");
  }
  if (op == Op::handshake) {
    long verify = SSL_get_verify_result(ssl_.get());
    if (verify != X509_V_OK) fail_verification(verify);
  }
  bool handshake = op == Op::handshake;
  std::string context = (handshake ? "TLS handshake failed" : "TLS connection failed") + with_peer;
  if (std::string meaning = hint(first, server_, handshake, bio_.first_bytes, bio_.last_header);
      !meaning.empty()) {
    context += " (" + meaning + ")";
  }
  if (handshake && not_tls(first) && !starts_as_tls(bio_.first_bytes)) {
    context += what_came_instead();
  }
  throw drain_errors(context);
}

std::string Engine::what_came_instead() const {
  if (bio_.first_bytes.empty()) return {};
  std::string text = ": it sent " + printable(bio_.first_bytes);
  if (server_) {
    return text +
           ". The client speaks plaintext: read its STARTTLS command (or the protocol's "
           "equivalent) before start_tls, or ask it to use TLS from the first byte";
  }
  return text +
         ". The server speaks plaintext here: read its greeting and its go-ahead for STARTTLS "
         "(an SMTP server answers 220) before start_tls; for a server that starts in plaintext, "
         "set ConnectOptions::upgradeable and call start_tls at the protocol's signal";
}

bool Engine::peer_vanished(int ssl_error) const {
  unsigned long first = ERR_peek_error();
  if (bio_.last_error) return true;
  return (ssl_error == SSL_ERROR_SYSCALL && first == 0) ||
         (ERR_GET_LIB(first) == ERR_LIB_SSL &&
          ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
}

void Engine::fail_verification(long result) {
  ERR_clear_error();
  std::error_code code(static_cast<int>(result), verify_category());
  throw Error(code, verification_message(result));
}

Verification Engine::verification(bool checked) const {
  Verification verdict;
  verdict.checked = checked;
  if (!checked) {
    verdict.message = server_ ? "no client certificate was asked for or sent"
                              : "not verified (PeerVerification::dangerous_none)";
    return verdict;
  }
  verdict.code = SSL_get_verify_result(ssl_.get());
  verdict.ok = verdict.code == X509_V_OK;
  verdict.name_matches = name_matches(SSL_get0_peer_certificate(ssl_.get()), expected_name_);
  verdict.message = verdict.ok ? (expected_name_.empty() ? std::string("verified")
                                                         : "verified for " + expected_name_)
                               : verification_message(verdict.code);
  return verdict;
}

std::string Engine::verification_message(long result) const {
  // A client's chain as OpenSSL keeps it on the server has no leaf.
  STACK_OF(X509)* chain = server_ ? nullptr : SSL_get_peer_cert_chain(ssl_.get());
  X509* leaf = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : nullptr;
  return detail::verification_message(result, leaf, expected_name_, server_);
}

std::string Engine::ocsp_status() const {
  SSL* ssl = ssl_.get();
  const unsigned char* der = nullptr;
  long length = SSL_get_tlsext_status_ocsp_resp(ssl, &der);
  if (!der || length <= 0) return "none";
  std::unique_ptr<OCSP_RESPONSE, Deleter<OCSP_RESPONSE_free>> response(
      d2i_OCSP_RESPONSE(nullptr, &der, length));
  if (!response) return "invalid: not an OCSP response";
  if (OCSP_response_status(response.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return std::string("invalid: responder said ") +
           OCSP_response_status_str(OCSP_response_status(response.get()));
  }
  std::unique_ptr<OCSP_BASICRESP, Deleter<OCSP_BASICRESP_free>> basic(
      OCSP_response_get1_basic(response.get()));
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  if (!basic || !chain || sk_X509_num(chain) < 2) return "invalid: no issuer to check it against";
  X509_STORE* store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
  if (OCSP_basic_verify(basic.get(), chain, store, 0) != 1) {
    ERR_clear_error();
    return "invalid: the response's signature does not verify";
  }
  std::unique_ptr<OCSP_CERTID, Deleter<OCSP_CERTID_free>> id(
      OCSP_cert_to_id(nullptr, sk_X509_value(chain, 0), sk_X509_value(chain, 1)));
  int status = -1, reason = 0;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at, &this_update,
                            &next_update) != 1) {
    return "invalid: no status for this certificate";
  }
  // Five minutes of leeway for clocks, as OpenSSL's own tools allow.
  if (OCSP_check_validity(this_update, next_update, 300, -1) != 1) {
    ERR_clear_error();
    return "invalid: the response is out of date";
  }
  return OCSP_cert_status_str(status);
}

namespace {

/// The peer's handshake signature in OpenSSL's sigalgs syntax: "ECDSA+SHA256",
/// "RSA-PSS+SHA256", "Ed25519"; empty when it did not sign.
std::string peer_signature(SSL* ssl) {
  int type = NID_undef;
  if (SSL_get_peer_signature_type_nid(ssl, &type) != 1) return {};
  std::string name;
  switch (type) {
    case EVP_PKEY_EC:
      name = "ECDSA";
      break;
    case EVP_PKEY_RSA:
      name = "RSA";
      break;
    case EVP_PKEY_RSA_PSS:
      name = "RSA-PSS";
      break;
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_ED448:
      return "Ed448";
    default:
      name = OBJ_nid2sn(type);
  }
  int hash = NID_undef;
  if (SSL_get_peer_signature_nid(ssl, &hash) == 1 && hash != NID_undef) {
    name += std::string("+") + OBJ_nid2sn(hash);
  }
  return name;
}

}  // namespace

SessionInfo Engine::session_info() const {
  SessionInfo info;
  SSL* ssl = ssl_.get();
  info.version = SSL_get_version(ssl);
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  info.cipher = cipher ? SSL_CIPHER_get_name(cipher) : "";
  info.secret_bits = cipher ? SSL_CIPHER_get_bits(cipher, nullptr) : 0;
  info.cipher_version = cipher ? SSL_CIPHER_get_version(cipher) : "";
  if (int group = static_cast<int>(SSL_get_negotiated_group(ssl)); group != 0) {
    const char* name = SSL_group_to_name(ssl, group);
    info.group = name ? name : "";
  }
  info.peer_signature = peer_signature(ssl);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_length);
  if (alpn) info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_length);
  if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name))
    info.server_name = name;
  info.resumed = SSL_session_reused(ssl) == 1;
  if (!server_ && SSL_get_tlsext_status_type(ssl) == TLSEXT_STATUSTYPE_ocsp) {
    info.ocsp_status = ocsp_status();
  }
  return info;
}

void Engine::set_session_tickets(std::size_t count) noexcept {
  SSL_set_num_tickets(ssl_.get(), count);
}

void Engine::offer_session(SSL_SESSION* session) noexcept { SSL_set_session(ssl_.get(), session); }

bool Engine::resumed() const noexcept { return SSL_session_reused(ssl_.get()) == 1; }

const char* Engine::version() const noexcept { return SSL_get_version(ssl_.get()); }

const char* Engine::cipher() const noexcept {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_.get());
  return cipher ? SSL_CIPHER_get_name(cipher) : "";
}

SessionPtr Engine::session_copy() const {
  SSL_SESSION* session = SSL_get0_session(ssl_.get());
  return SessionPtr(session ? SSL_SESSION_dup(session) : nullptr);
}

std::optional<CertificateInfo> Engine::peer_certificate() const {
  X509* cert = SSL_get0_peer_certificate(ssl_.get());
  if (!cert) return std::nullopt;
  return describe(cert);
}

std::vector<CertificateInfo> Engine::peer_chain() const {
  std::vector<CertificateInfo> chain;
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl_.get());
  // A server's view of the client's chain leaves out the client's own certificate.
  X509* own = SSL_get0_peer_certificate(ssl_.get());
  if (own && server_) chain.push_back(describe(own));
  for (int i = 0; sent && i < sk_X509_num(sent); ++i) {
    chain.push_back(describe(sk_X509_value(sent, i)));
  }
  return chain;
}

}  // namespace uptls::tls::detail
