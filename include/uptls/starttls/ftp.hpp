#pragma once
/// @file
/// FTP (RFC 959; TLS per RFC 4217): the greeting, AUTH TLS, `234`, the
/// handshake, PBSZ 0 and PROT P over TLS (data connections protected), FEAT
/// for the capabilities; and CCC, which takes the control connection back
/// to plaintext (Stream::stop_tls).

#include <asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "uptls/starttls/dialogue.hpp"
#include "uptls/starttls/reply.hpp"

namespace uptls::starttls {

/// The client side: reads the `220` greeting (multi-line, `120` first if
/// the server says so), sends AUTH TLS, upgrades on `234`, then over TLS
/// PBSZ 0 and PROT P (both must succeed: data connections are protected)
/// and FEAT.
class UPTLS_API FtpClient final : public Dialogue {
 public:
  /// @param options policy and limits.
  explicit FtpClient(ClientDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_reply(Reply reply);

  enum class State { greeting, auth, pbsz, prot, feat };
  ClientDialogueOptions options_;
  State state_ = State::greeting;
  ReplyReader reader_;
};

/// The server side: greets, answers AUTH TLS with `234`, refuses logins
/// before TLS (Policy::required: `530`) and commands pipelined after AUTH
/// TLS, and upgrades. With ServerDialogueOptions::session it then serves a session
/// for any user, in one directory holding `hello.txt`: USER, PASS, PBSZ,
/// PROT, FEAT, SYST, PWD, CWD, TYPE, SIZE, MDTM, NOOP, PASV and EPSV, LIST,
/// NLST, RETR, STOR (received and discarded), CCC (the control connection
/// goes back to plaintext), QUIT. Data connections are passive, one per
/// transfer, and protected with TLS after PROT P (Policy::required refuses
/// transfers without it: `522`); ftp_data_service() opens them.
class UPTLS_API FtpServer final : public Dialogue {
 public:
  /// What the session needs of its data connection (Next::service).
  struct DataRequest {
    /// What a data connection can be asked to do.
    enum Kind {
      /// Listen for a passive data connection; then passive_opened().
      listen,
      /// Accept it and send payload; then transfer_done().
      send,
      /// Accept it and read until its end; then transfer_done().
      receive,
    };
    /// What to do now.
    Kind kind = listen;
    /// For send: the bytes (a listing, a file).
    std::string payload;
    /// Whether the data connection is TLS (PROT P).
    bool protect = false;
    /// Whether its handshake must resume the control connection's session
    /// (ServerDialogueOptions::require_session_reuse, while the control is TLS).
    bool resume_session = false;
  };
  /// The largest upload the session reads.
  std::size_t max_upload() const noexcept { return options_.max_message; }

  /// @param options the host name, policy, session mode and limits.
  explicit FtpServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

  /// What the data connection should do now.
  const DataRequest& data_request() const noexcept { return request_; }
  /// A passive listener is open on port (or failed when 0).
  /// @param port its port.
  /// @param address the control connection's local address, for PASV's reply.
  void passive_opened(std::uint16_t port, std::string_view address);
  /// The transfer ended.
  /// @param ok whether it went through.
  /// @param bytes how many bytes went through.
  /// @param reason why not, when not.
  void transfer_done(bool ok, std::size_t bytes, std::string_view reason = {});

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;
  void command(std::string_view line, std::string_view rest);

  ServerDialogueOptions options_;
  std::string user_;
  bool logged_in_ = false;
  bool protected_buffer_ = false;  // PBSZ was given
  bool protect_data_ = false;      // PROT P
  bool cleared_ = false;           // CCC: the control connection is plaintext again
  bool passive_ = false;           // a passive listener is open
  bool extended_ = false;          // it was asked for with EPSV
  std::string transfer_;           // the command of the transfer under way
  DataRequest request_;
  std::size_t errors_ = 0;
};

/// FTP's CCC as a client (RFC 4217 §6): sends CCC over TLS, and on `200`
/// ends TLS with Stream::stop_tls; the control connection goes on in
/// plaintext (the data connections keep their protection level).
/// @param stream an FTP control connection over TLS, no reply pending.
/// @param max_line the longest reply line accepted.
/// @throws Error errc::protocol_error quoting a refusal, or stop_tls's errors.
UPTLS_API asio::awaitable<void> ftp_clear_command_channel(Stream& stream,
                                                          std::size_t max_line = 8192);

/// The data connections of FtpServer's session (a Service for run()): a
/// passive listener on the control connection's local address, one
/// connection accepted per transfer (within 30 s) from the control
/// connection's peer address only (others are closed), TLS as a server with
/// the control stream's configuration when protected, resuming the control
/// connection's session (Stream::resume_session_of: a client that does not
/// resume it, or resumes another's, is refused, as vsftpd's
/// require_ssl_reuse=YES does; after CCC there is no session to resume),
/// the payload sent or the upload read to its end (at most
/// ServerDialogueOptions::max_message), closed with close_notify.
UPTLS_API Service ftp_data_service();

/// One transfer over a passive data connection as a client (RFC 4217 §9):
/// EPSV (PASV if refused), a connection to the control connection's peer at
/// that port (open_connection: its connect timeout, the control stream's
/// timeouts), TLS with the control stream's configuration and name (the
/// control connection's PROT P) resuming the control connection's session
/// (RFC 4217 §10.2, which vsftpd and ProFTPD require by default), the
/// command, and everything the server sends until its end; then the
/// server's final reply.
/// @param control the control connection, logged in, PROT P given.
/// @param command the transfer (`LIST`, `RETR hello.txt`).
/// @param max_size the most bytes accepted.
/// @returns the data.
/// @throws Error errc::protocol_error quoting a refused command, or the
///         data connection's errors.
UPTLS_API asio::awaitable<std::string> ftp_download(Stream& control, std::string command,
                                                    std::size_t max_size = 64 * 1024 * 1024);

}  // namespace uptls::starttls
