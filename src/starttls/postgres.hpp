#pragma once
/// @file
/// PostgreSQL (protocol 3.0, "SSL Session Encryption"): the SSLRequest, the
/// server's one-byte `S`, the handshake; and PostgreSQL 17's direct TLS
/// (a handshake from the first byte, ALPN `postgresql`) on the server side.

#include <cstddef>
#include <string>
#include <string_view>

#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side: sends the SSLRequest, upgrades on `S`, and refuses any
/// byte after it (CVE-2021-23222). Done once TLS is up: the startup
/// message is the application's.
class PostgresClient final : public Dialogue {
 public:
  /// @param options policy and limits.
  explicit PostgresClient(ClientDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;

  ClientDialogueOptions options_;
};

/// The server side: answers the SSLRequest with `S` (GSSENCRequest with
/// `N`), takes a direct TLS handshake as one, refuses bytes after the
/// SSLRequest (CVE-2021-23214) and a plaintext startup (Policy::required)
/// with an ErrorResponse, and upgrades. It is done once TLS is up (the
/// client's startup message is the application's), or, under
/// Policy::opportunistic, at a plaintext startup message, left unread.
class PostgresServer final : public Dialogue {
 public:
  /// @param options the policy and limits.
  explicit PostgresServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;
  void send_error(std::string_view severity, std::string_view code, std::string_view message);

  ServerDialogueOptions options_;
};

}  // namespace uptls::starttls
