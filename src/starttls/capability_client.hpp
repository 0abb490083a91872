#pragma once
// The client shape SMTP, LMTP, POP3, NNTP, IMAP and ManageSieve share: the
// greeting, a capability request, the upgrade verb when the capabilities
// offer it, its go-ahead, the handshake, and the capabilities again over
// TLS, for what was learned in plaintext is discarded (RFC 3207 §4.2,
// RFC 2595 §4, RFC 4642 §2.2.2, RFC 9051 §6.2.1, RFC 5804 §2.2). Each
// protocol reads its own responses (SMTP's `250-` lines, a list ended by
// ".", IMAP's tagged completion, ManageSieve's list ended by OK) and says
// how a command is sent; the order, the policy and what is learned are
// here, once.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

class CapabilityClient : public Dialogue {
 public:
  /// The words of a protocol's upgrade.
  struct Words {
    std::string_view name;                 // "pop3"
    std::string_view capability_command;   // "CAPA"; empty: the server sends them unasked
    std::string_view starttls_command;     // "STLS"
    std::string_view starttls_capability;  // what the list offers: "STLS"
    std::string_view separator = " / ";    // between capabilities, in a message
  };

  /// What the dialogue waits for.
  enum class Awaiting { greeting, capabilities, go_ahead };

  /// One whole response, as the protocol read it.
  struct Response {
    bool positive = false;
    /// What a capability response lists (and a greeting that is one).
    std::vector<std::string> capabilities;
    /// What a greeting says, as learned.
    std::string text;
    /// The response, quoted for a message.
    std::string quoted;
  };

  std::string_view protocol() const noexcept final { return words_.name; }

 protected:
  CapabilityClient(const Words& words, ClientDialogueOptions options);

  Awaiting waiting_for() const noexcept { return awaiting_; }

  ClientDialogueOptions options_;

 private:
  /// Reads one whole response, or nothing yet (none, or a part of one);
  /// fails the dialogue itself on what is not a response.
  virtual std::optional<Response> read(std::string_view bytes, std::size_t& used) = 0;
  /// Sends the capability request or the upgrade verb (a line by default;
  /// IMAP tags it, SMTP names the client).
  virtual void command(std::string_view verb);

  std::size_t on_receive(std::string_view bytes) final;
  void on_tls() final;
  void on_response(Response response);
  void on_capabilities(Response response);
  void ask_capabilities();

  const Words& words_;
  Awaiting awaiting_ = Awaiting::greeting;
  bool over_tls_ = false;
};

}  // namespace uptls::starttls
