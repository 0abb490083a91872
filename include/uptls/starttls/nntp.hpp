#pragma once
/// @file
/// NNTP (RFC 3977; STARTTLS per RFC 4642): the greeting, CAPABILITIES,
/// STARTTLS, `382`, the handshake, CAPABILITIES again over TLS.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// The client side: reads the `200`/`201` greeting, asks CAPABILITIES,
/// sends STARTTLS when offered, upgrades on `382`, and asks CAPABILITIES
/// again over TLS.
class UPTLS_API NntpClient final : public Dialogue {
 public:
  /// @param options policy and limits.
  explicit NntpClient(ClientDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_reply(std::string_view line);
  void on_capabilities();

  enum class State { greeting, capabilities, list, starttls, capabilities_tls, list_tls };
  ClientDialogueOptions options_;
  State state_ = State::greeting;
  std::vector<std::string> capabilities_;
};

/// The server side: greets, lists STARTTLS among its capabilities, refuses
/// AUTHINFO before TLS (Policy::required) and commands pipelined after
/// STARTTLS, and upgrades. With ServerDialogueOptions::session it then serves one
/// newsgroup, `uptls.test`, holding one article: CAPABILITIES, MODE
/// READER, LIST, GROUP, ARTICLE, HEAD, BODY, STAT, OVER, DATE, AUTHINFO,
/// POST (accepted and discarded), QUIT.
class UPTLS_API NntpServer final : public Dialogue {
 public:
  /// @param options the host name, policy, session mode and limits.
  explicit NntpServer(ServerDialogueOptions options = {});
  std::string_view protocol() const noexcept override;

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_tls() override;
  void on_end_of_input() override;
  void command(std::string_view line, std::string_view rest);
  bool reading(std::string_view verb, std::string_view argument);

  ServerDialogueOptions options_;
  bool selected_ = false;
  bool posting_ = false;
  std::size_t article_bytes_ = 0;
  std::string user_;
  std::size_t errors_ = 0;
};

}  // namespace uptls::starttls
