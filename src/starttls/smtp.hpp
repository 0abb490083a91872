#pragma once
/// @file
/// SMTP (RFC 5321, STARTTLS per RFC 3207) and LMTP (RFC 2033): the greeting,
/// EHLO (LHLO), the STARTTLS capability, `220`, the handshake, and EHLO
/// again over TLS.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "starttls/capability_client.hpp"
#include "starttls/line_server.hpp"
#include "uptls/starttls/dialogue.hpp"
#include "uptls/starttls/reply.hpp"

namespace uptls::starttls {

/// The client side: reads the greeting, says EHLO (LHLO for LMTP), checks
/// for STARTTLS, upgrades on `220`, and says EHLO again over TLS; done with
/// the capabilities of that second reply.
class SmtpClient final : public CapabilityClient {
 public:
  /// @param options policy, the name to say EHLO with, limits.
  /// @param lmtp speak LMTP (LHLO) instead of SMTP.
  explicit SmtpClient(ClientDialogueOptions options = {}, bool lmtp = false);

 private:
  std::optional<Response> read(std::string_view bytes, std::size_t& used) override;
  void command(std::string_view verb) override;

  ReplyReader reader_;
};

/// The server side: greets, answers EHLO (LHLO) with PIPELINING,
/// ENHANCEDSTATUSCODES, ServerDialogueOptions::capabilities and STARTTLS,
/// refuses MAIL, RCPT, DATA, AUTH, BDAT and ETRN before TLS (`530`, under
/// Policy::required; under Policy::opportunistic the first of them is left
/// unread and the dialogue is done, for the application), refuses commands
/// pipelined after STARTTLS, and upgrades. It is done once TLS is up: the
/// client's new EHLO is the application's.
class SmtpServer final : public LineServer<SmtpServer> {
 public:
  /// @param options the host name, greeting, capabilities, policy and limits.
  /// @param lmtp speak LMTP (LHLO).
  explicit SmtpServer(ServerDialogueOptions options = {}, bool lmtp = false);
  std::string_view protocol() const noexcept override;

 private:
  void on_tls() override;
  void hello(const Command& command);
  void starttls(const Command& command);
  void ok(const Command& command);
  void quit(const Command& command);
  void vrfy(const Command& command);
  void help(const Command& command);

  static const Verb verbs[];
  bool lmtp_;
};

}  // namespace uptls::starttls
