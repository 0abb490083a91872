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

/// The server side: greets, lists AUTH TLS, PBSZ and PROT (then
/// ServerDialogueOptions::capabilities) in FEAT, answers AUTH TLS with
/// `234`, refuses everything but FEAT, NOOP, OPTS, SYST and QUIT before TLS
/// (`530`, Policy::required; Policy::opportunistic leaves it unread for the
/// application) and commands pipelined after AUTH TLS, and upgrades. It is
/// done once TLS is up: the login, PBSZ, PROT, the data connections and CCC
/// are the application's.
class UPTLS_API FtpServer final : public Dialogue {
 public:
  /// @param options the host name, greeting, capabilities, policy and limits.
  explicit FtpServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;
  void command(std::string_view line, std::string_view rest);
  static bool needs_tls(std::string_view line);

  ServerDialogueOptions options_;
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
