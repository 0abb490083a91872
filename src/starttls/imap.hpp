#pragma once
/// @file
/// IMAP (RFC 9051 and RFC 3501, STARTTLS per RFC 9051 §6.2.1 and RFC 2595):
/// the greeting, CAPABILITY, a tagged STARTTLS, the handshake, CAPABILITY
/// again over TLS. Literals (`{n}`) in responses and commands are read as
/// data, never as lines.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "starttls/capability_client.hpp"
#include "starttls/literal_server.hpp"
#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side: reads the greeting (`* PREAUTH` leaves no room for
/// STARTTLS and is refused under Policy::required), asks for CAPABILITY,
/// sends a tagged STARTTLS, upgrades on its tagged OK, and asks for
/// CAPABILITY again over TLS. Untagged responses before a tagged one are
/// read, and a CAPABILITY among them is taken only as the answer to
/// CAPABILITY (never while STARTTLS is pending).
class ImapClient final : public CapabilityClient {
 public:
  /// @param options policy and limits.
  explicit ImapClient(ClientDialogueOptions options = {});

 private:
  std::optional<Response> read(std::string_view bytes, std::size_t& used) override;
  void command(std::string_view verb) override;
  std::optional<Response> greeting(std::string_view line);

  LiteralState literals_;
  unsigned tag_ = 0;
  std::string tag_text_;
  std::vector<std::string> capabilities_;  // of the untagged CAPABILITY
};

/// The server side: greets with STARTTLS (and LOGINDISABLED under
/// Policy::required) after ServerDialogueOptions::capabilities, refuses
/// LOGIN and AUTHENTICATE before TLS (Policy::opportunistic leaves the first
/// of them unread for the application), refuses commands pipelined after
/// STARTTLS, and upgrades. It is done once TLS is up.
class ImapServer final : public LiteralServer<ImapServer> {
 public:
  /// @param options the host name, greeting, capabilities, policy and limits.
  explicit ImapServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  void on_tls() override;
  std::string capabilities() const;
  void capability(const Command& command);
  void noop(const Command& command);
  void logout(const Command& command);
  void starttls(const Command& command);

  static const Verb<ImapServer> verbs[];
};

}  // namespace uptls::starttls
