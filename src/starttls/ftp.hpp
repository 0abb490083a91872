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

#include "starttls/line_server.hpp"
#include "uptls/starttls/dialogue.hpp"
#include "uptls/starttls/reply.hpp"

namespace uptls::starttls {

/// The client side: reads the `220` greeting (multi-line, `120` first if
/// the server says so), sends AUTH TLS, upgrades on `234`, then over TLS
/// PBSZ 0 and PROT P (both must succeed: data connections are protected)
/// and FEAT.
class FtpClient final : public Dialogue {
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
class FtpServer final : public LineServer<FtpServer> {
 public:
  /// @param options the host name, greeting, capabilities, policy and limits.
  explicit FtpServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  void on_tls() override;
  void auth(const Command& command);
  void feat(const Command& command);
  void quit(const Command& command);
  void ok(const Command& command);
  void syst(const Command& command);

  static const Verb verbs[];
};

}  // namespace uptls::starttls
