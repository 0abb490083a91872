#pragma once
/// @file
/// NNTP (RFC 3977; STARTTLS per RFC 4642): the greeting, CAPABILITIES,
/// STARTTLS, `382`, the handshake, CAPABILITIES again over TLS.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "starttls/line_server.hpp"
#include "starttls/list_client.hpp"
#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side: reads the `200`/`201` greeting, asks CAPABILITIES,
/// sends STARTTLS when offered, upgrades on `382`, and asks CAPABILITIES
/// again over TLS.
class NntpClient final : public ListClient {
 public:
  /// @param options policy and limits.
  explicit NntpClient(ClientDialogueOptions options = {});
};

/// The server side: greets, lists STARTTLS after
/// ServerDialogueOptions::capabilities, refuses every command but
/// CAPABILITIES, STARTTLS and QUIT before TLS (`483`, RFC 4642 §2.2.1;
/// Policy::opportunistic leaves the first of them unread for the
/// application), refuses commands pipelined after STARTTLS, and upgrades.
/// It is done once TLS is up.
class NntpServer final : public LineServer<NntpServer> {
 public:
  /// @param options the host name, greeting, capabilities, policy and limits.
  explicit NntpServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  void on_tls() override;
  void capabilities(const Command& command);
  void starttls(const Command& command);
  void quit(const Command& command);

  static const Verb verbs[];
};

}  // namespace uptls::starttls
