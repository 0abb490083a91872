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
class UPTLS_API MysqlClient final : public Dialogue {
 public:
  /// @param options policy and limits.
  explicit MysqlClient(ClientDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;

  ClientDialogueOptions options_;
};

/// The server side: greets with CLIENT_SSL, takes the SSLRequest and
/// upgrades, the bytes after it being the client's ClientHello (the server
/// does not answer an SSLRequest); refuses a plaintext login
/// (Policy::required: ERR 3159). With ServerDialogueOptions::session it then lets any user in and
/// answers `SELECT 1` (and the client's `SELECT @@version_comment`).
class UPTLS_API MysqlServer final : public Dialogue {
 public:
  /// @param options the policy, session mode and limits.
  explicit MysqlServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;
  void packet(std::uint8_t sequence, std::string_view payload);
  void query(std::string_view text);

  ServerDialogueOptions options_;
  bool logged_in_ = false;
};

}  // namespace uptls::starttls
