#pragma once
/// @file
/// HTTP/1.1 `Upgrade: TLS/1.0` (RFC 2817 §3-4), and CONNECT through an HTTP
/// proxy (RFC 9110 §9.3.6) as the step before a protocol's own dialogue.

#include <cstddef>
#include <string>
#include <string_view>

#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side of RFC 2817: `OPTIONS *` with `Upgrade: TLS/1.0` and
/// `Connection: Upgrade`, the handshake on `101 Switching Protocols`. Done
/// once TLS is up: the HTTP requests over it are the application's.
class HttpUpgradeClient final : public Dialogue {
 public:
  /// @param options policy, the Host to name (ClientDialogueOptions::server_name), limits.
  explicit HttpUpgradeClient(ClientDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;

  ClientDialogueOptions options_;
};

/// The server side of RFC 2817: a request with `Upgrade: TLS/1.0` gets
/// `101` and the handshake; under Policy::required any other request gets
/// `426 Upgrade Required` (the mandatory advertisement, §4.2). Bytes after
/// the upgrading request are refused. It is done once TLS is up (the
/// requests over TLS are the application's), or, under
/// Policy::opportunistic, at a request that does not upgrade, left unread.
class HttpUpgradeServer final : public Dialogue {
 public:
  /// @param options the policy and limits.
  explicit HttpUpgradeServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;

  ServerDialogueOptions options_;
};

/// A tunnel through an HTTP proxy: `CONNECT host:port`, optionally with
/// Basic credentials; done on a 2xx answer, with the origin's bytes (if it
/// spoke first) left unread for the protocol's own dialogue. A refusal
/// (407, 403, 502, ...) quotes the proxy's status line.
class HttpConnectClient final : public Dialogue {
 public:
  /// @param authority the origin as `host:port` (`[v6]:port`).
  /// @param basic_credentials `user:password` for Proxy-Authorization, or empty.
  /// @param options limits.
  HttpConnectClient(std::string authority, std::string basic_credentials = {},
                    ClientDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
};

}  // namespace uptls::starttls
