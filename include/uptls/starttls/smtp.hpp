#pragma once
/// @file
/// SMTP (RFC 5321, STARTTLS per RFC 3207) and LMTP (RFC 2033): the greeting,
/// EHLO (LHLO), the STARTTLS capability, `220`, the handshake, and EHLO
/// again over TLS.

#include <cstddef>
#include <string>
#include <string_view>

#include "uptls/starttls/dialogue.hpp"
#include "uptls/starttls/reply.hpp"

namespace uptls::starttls {

/// The client side: reads the greeting, says EHLO (LHLO for LMTP), checks
/// for STARTTLS, upgrades on `220`, and says EHLO again over TLS; done with
/// the capabilities of that second reply.
class UPTLS_API SmtpClient final : public Dialogue {
 public:
  /// @param options policy, the name to say EHLO with, limits.
  /// @param lmtp speak LMTP (LHLO) instead of SMTP.
  explicit SmtpClient(ClientDialogueOptions options = {}, bool lmtp = false);
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_reply(Reply reply);
  void hello();

  enum class State { greeting, hello, starttls, hello_tls };
  ClientDialogueOptions options_;
  bool lmtp_;
  State state_ = State::greeting;
  ReplyReader reader_;
};

/// The server side: greets, answers EHLO (LHLO) with STARTTLS among its
/// capabilities, refuses mail before TLS (under Policy::required), refuses
/// commands pipelined after STARTTLS, and upgrades. With
/// ServerDialogueOptions::session it then accepts mail and discards it until QUIT.
class UPTLS_API SmtpServer final : public Dialogue {
 public:
  /// @param options the host name, policy, session mode and limits.
  /// @param lmtp speak LMTP (LHLO; one reply per recipient after DATA).
  explicit SmtpServer(ServerDialogueOptions options = {}, bool lmtp = false);
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;
  void command(std::string_view line, std::string_view rest);
  void data_line(std::string_view line);
  void reset_transaction();
  static bool needs_tls(std::string_view line);

  ServerDialogueOptions options_;
  bool lmtp_;
  bool in_data_ = false;
  bool greeted_ = false;
  std::string sender_;
  std::size_t recipients_ = 0;
  std::size_t message_bytes_ = 0;
  std::size_t messages_ = 0;
  std::size_t errors_ = 0;
};

}  // namespace uptls::starttls
