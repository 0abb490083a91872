#pragma once
/// @file
/// FTP (RFC 959; TLS per RFC 4217): the greeting, AUTH TLS, `234`, the
/// handshake, PBSZ 0 and PROT P over TLS (data connections protected), FEAT
/// for the capabilities; and CCC, which takes the control connection back
/// to plaintext (Stream::stop_tls).

#include <asio/awaitable.hpp>
#include <cstddef>
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
  explicit FtpClient(ClientOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_reply(Reply reply);

  enum class State { greeting, auth, pbsz, prot, feat };
  ClientOptions options_;
  State state_ = State::greeting;
  ReplyReader reader_;
};

/// The server side: greets, answers AUTH TLS with `234`, refuses logins
/// before TLS (Policy::required: `530`) and commands pipelined after AUTH
/// TLS, and upgrades. With ServerOptions::session it then serves the
/// control connection of a session for any user: USER, PASS, PBSZ, PROT,
/// FEAT, SYST, PWD, CWD, TYPE, SIZE and MDTM of `hello.txt`, NOOP, CCC
/// (the control connection goes back to plaintext), QUIT. Data connections
/// (PASV, LIST, RETR, STOR) are not served: `502`.
class UPTLS_API FtpServer final : public Dialogue {
 public:
  /// @param options the host name, policy, session mode and limits.
  explicit FtpServer(ServerOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;
  void command(std::string_view line, std::string_view rest);

  ServerOptions options_;
  std::string user_;
  bool logged_in_ = false;
  bool protected_buffer_ = false;  // PBSZ was given
  bool cleared_ = false;           // CCC: the control connection is plaintext again
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

}  // namespace uptls::starttls
