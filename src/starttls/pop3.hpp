#pragma once
/// @file
/// POP3 (RFC 1939; STLS per RFC 2595, CAPA per RFC 2449): the greeting,
/// CAPA, STLS, the handshake, CAPA again over TLS.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "starttls/line_server.hpp"
#include "starttls/list_client.hpp"
#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side: reads the `+OK` greeting, asks CAPA, sends STLS when
/// offered, upgrades on `+OK`, and asks CAPA again over TLS.
class Pop3Client final : public ListClient {
 public:
  /// @param options policy and limits.
  explicit Pop3Client(ClientDialogueOptions options = {});
};

/// The server side: greets, offers STLS in CAPA (after
/// ServerDialogueOptions::capabilities), refuses USER, PASS, APOP and AUTH
/// before TLS (Policy::required; Policy::opportunistic leaves the first of
/// them unread for the application), refuses commands pipelined after
/// STLS, and upgrades. It is done once TLS is up.
class Pop3Server final : public LineServer<Pop3Server> {
 public:
  /// @param options the host name, greeting, capabilities, policy and limits.
  explicit Pop3Server(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  void on_tls() override;
  void capa(const Command& command);
  void stls(const Command& command);
  void quit(const Command& command);

  static const Verb verbs[];
};

}  // namespace uptls::starttls
