#pragma once
/// @file
/// MySQL and MariaDB (client/server protocol 10): the server's greeting,
/// the client's SSLRequest (CLIENT_SSL), the handshake; the login goes
/// over TLS.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side: reads the greeting (an ERR packet instead is quoted),
/// checks CLIENT_SSL, sends the SSLRequest and upgrades. Done once TLS is
/// up: the HandshakeResponse (sequence 2) is the application's.
class MysqlClient final : public Dialogue {
 public:
  /// @param options policy and limits.
  explicit MysqlClient(ClientDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;

  ClientDialogueOptions options_;
};

/// The server side: greets with a Protocol::HandshakeV10 that offers
/// CLIENT_SSL (ServerDialogueOptions::greeting is the server version it
/// names), takes an SSLRequest as the go-ahead (the ClientHello follows at
/// once), refuses a plaintext login (Policy::required) with ERR 3159, and
/// upgrades. It is done once TLS is up (the login is the application's),
/// or, under Policy::opportunistic, at a plaintext login, left unread.
class MysqlServer final : public Dialogue {
 public:
  /// @param options the greeting, policy and limits.
  explicit MysqlServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;

  ServerDialogueOptions options_;
};

}  // namespace uptls::starttls
