#pragma once
/// @file
/// LDAP (RFC 4511 §4.14; StartTLS per RFC 4513 §3): the StartTLS extended
/// operation (1.3.6.1.4.1.1466.20037) in BER, the handshake, and the root
/// DSE read over TLS.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side: sends the StartTLS extended request, upgrades on
/// success, then reads the root DSE over TLS (its supportedExtension,
/// supportedSASLMechanisms, ... become the capabilities). A refusal quotes
/// the result code and the server's diagnostic message.
class LdapClient final : public Dialogue {
 public:
  /// @param options policy and limits.
  explicit LdapClient(ClientDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_message(long id, unsigned char operation, std::string_view body);

  enum class State { starttls, root_dse };
  ClientDialogueOptions options_;
  State state_ = State::starttls;
};

/// The server side: answers StartTLS, allows an anonymous bind and a read
/// of the root DSE before TLS (the version, StartTLS, and
/// ServerDialogueOptions::capabilities as `name: value` attributes), refuses
/// other binds and searches with confidentialityRequired (Policy::required;
/// Policy::opportunistic leaves any request but StartTLS unread for the
/// application), refuses requests pipelined after StartTLS, and upgrades.
/// It is done once TLS is up.
class LdapServer final : public Dialogue {
 public:
  /// @param options the capabilities, policy and limits.
  explicit LdapServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;
  void on_message(long id, unsigned char operation, std::string_view body, std::string_view rest);
  void root_dse(long id);
  void disconnect(std::string message);

  ServerDialogueOptions options_;
};

}  // namespace uptls::starttls
