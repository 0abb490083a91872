#pragma once
/// @file
/// IRC STARTTLS (the IRCv3 `tls` extension): STARTTLS before registration,
/// numeric 670, the handshake, and the capabilities listed over TLS
/// (CAP LS, then CAP END so that registration can go on).

#include <cstddef>
#include <string>
#include <string_view>

#include "starttls/line_server.hpp"
#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side: sends STARTTLS, skips notices, upgrades on 670 (691
/// and 421 are refusals), then asks CAP LS over TLS and ends the
/// negotiation with CAP END.
class IrcClient final : public Dialogue {
 public:
  /// @param options policy and limits.
  explicit IrcClient(ClientDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;

  ClientDialogueOptions options_;
  bool listing_ = false;  // over TLS, waiting for the CAP LS reply
};

/// The server side: answers CAP LS with `tls` and
/// ServerDialogueOptions::capabilities, STARTTLS with 670, PING with PONG,
/// refuses registration (NICK, USER, PASS) before TLS (Policy::required;
/// Policy::opportunistic leaves it unread for the application) and commands
/// pipelined after STARTTLS, and upgrades. It is done once TLS is up:
/// registration is the application's.
class IrcServer final : public VerbServer<IrcServer> {
 public:
  /// @param options the server name, capabilities, policy and limits.
  explicit IrcServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void starttls(const Command& command);
  void cap(const Command& command);
  void quit(const Command& command);
  void ping(const Command& command);

  static const Verb<IrcServer> verbs[];
};

}  // namespace uptls::starttls
