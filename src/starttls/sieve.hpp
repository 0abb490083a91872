#pragma once
/// @file
/// ManageSieve (RFC 5804): the capability response the server greets with,
/// STARTTLS, the handshake, and the capability response the server sends
/// again over TLS.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "starttls/capability_client.hpp"
#include "starttls/literal_server.hpp"
#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side: reads the capabilities up to `OK`, sends STARTTLS when
/// offered, upgrades on `OK`, then reads the capabilities the server sends
/// unasked over TLS (RFC 5804 §2.2).
class SieveClient final : public CapabilityClient {
 public:
  /// @param options policy and limits.
  explicit SieveClient(ClientDialogueOptions options = {});

 private:
  std::optional<Response> read(std::string_view bytes, std::size_t& used) override;

  LiteralState literals_;
  std::vector<std::string> capabilities_;
};

/// The server side: greets with its capabilities
/// (ServerDialogueOptions::capabilities, a `"SASL"` line emptied before TLS
/// under Policy::required, STARTTLS), refuses AUTHENTICATE before TLS
/// (Policy::opportunistic leaves it unread for the application) and
/// commands pipelined after STARTTLS, and upgrades, sending its
/// capabilities again. It is done then.
class SieveServer final : public LiteralServer<SieveServer> {
 public:
  /// @param options the host name, greeting, capabilities, policy and limits.
  explicit SieveServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  void on_tls() override;
  void capabilities();
  void capability(const Command& command);
  void noop(const Command& command);
  void logout(const Command& command);
  void starttls(const Command& command);

  static const Verb<SieveServer> verbs[];
};

}  // namespace uptls::starttls
