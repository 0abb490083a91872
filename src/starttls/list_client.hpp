#pragma once
// How POP3 and NNTP clients read: status lines, and a capability list
// ended by "." (RFC 2449, RFC 3977 §5.2). Each protocol says which lines are
// replies and which replies are positive; the upgrade is CapabilityClient's.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "starttls/capability_client.hpp"

namespace uptls::starttls {

/// What a list client's protocol is made of.
struct ListProtocol {
  CapabilityClient::Words words;
  /// Whether a line is a status reply at all ("+OK"/"-ERR", a 3-digit code).
  bool (*is_reply)(std::string_view line);
  /// Whether the greeting, the capability reply and the go-ahead are positive.
  bool (*greeting_ok)(std::string_view line);
  bool (*list_follows)(std::string_view line);
  bool (*go_ahead)(std::string_view line);
  /// The reply's text after its status (the greeting learned).
  std::size_t text_offset;
};

class ListClient : public CapabilityClient {
 protected:
  ListClient(const ListProtocol& spec, ClientDialogueOptions options);

 private:
  std::optional<Response> read(std::string_view bytes, std::size_t& used) final;
  std::optional<Response> on_list_line(std::string_view line);

  const ListProtocol& spec_;
  std::optional<Response> list_;  // a positive capability reply, its list being read
};

}  // namespace uptls::starttls
