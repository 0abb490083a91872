#pragma once
// The client shape that POP3 and NNTP share: a status-line greeting, a
// capability command answered by a list that ends with ".", the upgrade
// verb when the list offers it, its go-ahead, and the capability command
// again over TLS (RFC 2595 §4, RFC 4642 §2.2.2: what was learned in
// plaintext is discarded). Each protocol says which lines are replies and
// which replies are positive.

#include <string>
#include <string_view>
#include <vector>

#include "uptls/starttls/dialogue.hpp"

namespace uptls::starttls {

/// What a list client's protocol is made of.
struct ListProtocol {
  std::string_view name;                 // "pop3"
  std::string_view capability_command;   // "CAPA"
  std::string_view starttls_command;     // "STLS"
  std::string_view starttls_capability;  // what the list offers: "STLS"
  /// Whether a line is a status reply at all ("+OK"/"-ERR", a 3-digit code).
  bool (*is_reply)(std::string_view line);
  /// Whether the greeting, the capability reply and the go-ahead are positive.
  bool (*greeting_ok)(std::string_view line);
  bool (*list_follows)(std::string_view line);
  bool (*go_ahead)(std::string_view line);
  /// The reply's text after its status (the greeting learned).
  std::size_t text_offset;
};

class ListClient : public Dialogue {
 public:
  std::string_view protocol() const noexcept final { return spec_.name; }

 protected:
  ListClient(const ListProtocol& spec, ClientDialogueOptions options);

 private:
  std::size_t on_receive(std::string_view bytes) final;
  void on_tls() final;
  void on_reply(std::string_view line);
  void on_list_line(std::string_view line);
  void on_capabilities();
  void ask_capabilities();

  enum class State { greeting, capabilities, list, starttls };
  const ListProtocol& spec_;
  ClientDialogueOptions options_;
  State state_ = State::greeting;
  bool over_tls_ = false;
  std::vector<std::string> capabilities_;
};

}  // namespace uptls::starttls
