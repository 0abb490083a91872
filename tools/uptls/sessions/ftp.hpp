#pragma once
// FTP's session: the control connection after AUTH TLS, and the passive
// data connections it opens itself.

#include <asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sessions/session.hpp"

namespace uptls::sessions {

/// What the session needs of its data connection.
struct DataRequest {
  enum Kind {
    /// Listen for a passive data connection; then passive_opened().
    listen,
    /// Accept it and send payload; then transfer_done().
    send,
    /// Accept it and read until its end; then transfer_done().
    receive,
  };
  Kind kind = listen;
  /// For send: the bytes (a listing, a file).
  std::string payload;
  /// Whether the data connection is TLS (PROT P).
  bool protect = false;
  /// Whether its handshake must resume the control connection's session.
  bool resume_session = false;
};

/// The control connection. It ends its dialogue (Next::done) with a data
/// request pending when a data connection is due; serve_ftp() opens it and
/// tells the session, which then goes on.
class FtpSession final : public Session {
 public:
  using Session::Session;
  std::string_view protocol() const noexcept override { return "ftp"; }

  /// The data connection due, if any.
  const std::optional<DataRequest>& data_request() const noexcept { return request_; }
  /// A passive listener is open on port (or failed when 0).
  void passive_opened(std::uint16_t port, std::string_view address);
  /// The transfer ended.
  void transfer_done(bool ok, std::size_t bytes, std::string_view reason);

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
  void command(std::string_view line);
  bool login_or_protection(std::string_view verb, std::string_view argument);
  bool file_command(std::string_view verb, std::string_view argument);
  void transfer(std::string_view line, std::string_view verb, std::string_view name);
  void ask(DataRequest request) {
    request_ = std::move(request);
    finish();
  }

  std::string user_;
  bool logged_in_ = false;
  bool protected_buffer_ = false;  // PBSZ was given
  bool protect_data_ = false;      // PROT P
  bool cleared_ = false;           // CCC: the control connection is plaintext again
  bool passive_ = false;           // a passive listener is open
  bool extended_ = false;          // it was asked for with EPSV
  std::string transfer_;           // the command of the transfer under way
  std::optional<DataRequest> request_;
  std::size_t errors_ = 0;
};

/// Serves FTP's session on a control connection, with its data
/// connections: a passive listener on the control connection's local
/// address, one connection accepted per transfer (within 30 s) from the
/// control connection's peer address only (others are closed), TLS as a
/// server with the control stream's configuration when protected, resuming
/// the control connection's session when Options::require_session_reuse
/// (a client that does not resume it, or resumes another's, is refused, as
/// vsftpd's require_ssl_reuse=YES does; after CCC there is no session to
/// resume), the payload sent or the upload read to its end (at most
/// Options::max_message), closed with close_notify.
asio::awaitable<void> serve_ftp(Stream& control, const starttls::Learned& handed_over,
                                Options options);

}  // namespace uptls::sessions
