#pragma once
/// @file
/// XMPP (RFC 6120 §5), client-to-server and server-to-server: the stream
/// header, the stream features, `<starttls/>`, `<proceed/>`, the
/// handshake, and the stream restarted over TLS with its new features.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side (the initiating entity): opens the stream to
/// ClientDialogueOptions::server_name, reads the features, sends `<starttls/>`
/// when offered, upgrades on `<proceed/>`, restarts the stream over TLS and
/// reads the new features (capabilities such as `mechanisms PLAIN`).
class XmppClient final : public Dialogue {
 public:
  /// @param options policy, the domain to open the stream to, limits.
  /// @param server_to_server open a `jabber:server` stream (s2s).
  explicit XmppClient(ClientDialogueOptions options = {}, bool server_to_server = false);
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void open_stream();
  void on_element(std::string_view element, std::string_view name);

  enum class State { header, features, starttls, header_tls, features_tls };
  ClientDialogueOptions options_;
  bool server_to_server_;
  State state_ = State::header;
};

/// The server side: answers the client's stream header with its features
/// (`<starttls><required/></starttls>` under Policy::required, then
/// ServerDialogueOptions::capabilities as raw feature elements), refuses
/// other elements before TLS (Policy::required; Policy::opportunistic
/// leaves the first unread for the application) and elements pipelined
/// after `<starttls/>`, and upgrades. It is done once TLS is up: the client's
/// new stream is the application's.
class XmppServer final : public Dialogue {
 public:
  /// @param options the domain, capabilities, policy and limits.
  /// @param server_to_server serve `jabber:server` streams (s2s).
  explicit XmppServer(ServerDialogueOptions options = {}, bool server_to_server = false);
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;
  void on_header(std::string_view tag);
  void on_element(std::string_view name, std::string_view rest);

  ServerDialogueOptions options_;
  bool server_to_server_;
  bool in_stream_ = false;
};

}  // namespace uptls::starttls
