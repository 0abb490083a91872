#include "starttls/list_client.hpp"

#include <algorithm>

#include "printable.hpp"

namespace uptls::starttls {

ListClient::ListClient(const ListProtocol& spec, ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), spec_(spec), options_(std::move(options)) {}

std::size_t ListClient::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) return used;
  if (state_ == State::list) {
    on_list_line(*line);
  } else {
    on_reply(*line);
  }
  return used;
}

void ListClient::on_list_line(std::string_view line) {
  if (line == ".") {
    on_capabilities();
  } else if (capabilities_.size() >= options_.max_reply_lines) {
    fail(errc::protocol_error, std::string(spec_.name) +
                                   ": the server sent a capability list "
                                   "longer than " +
                                   std::to_string(options_.max_reply_lines) + " lines");
  } else {
    // A leading "." is doubled in a dot-terminated list.
    if (!line.empty() && line[0] == '.') line.remove_prefix(1);
    capabilities_.emplace_back(line);
  }
}

void ListClient::on_reply(std::string_view line) {
  std::string name(spec_.name);
  std::string quote = detail::printable(line, 300);
  if (!spec_.is_reply(line)) {
    fail(errc::protocol_error, name + ": the server sent " + quote + " where a reply was due");
    return;
  }
  switch (state_) {
    case State::greeting:
      if (!spec_.greeting_ok(line)) {
        fail(errc::protocol_error, name + ": the server refused the session: " + quote);
        return;
      }
      learned_.greeting = std::string(line.substr(std::min(spec_.text_offset, line.size())));
      ask_capabilities();
      return;
    case State::capabilities:
      if (!spec_.list_follows(line)) {
        if (!over_tls_) {
          unavailable(options_.policy, "the server does not list its capabilities (" +
                                           std::string(spec_.capability_command) +
                                           "), so it offers no " +
                                           std::string(spec_.starttls_command) + ": " + quote);
        } else {
          fail(errc::protocol_error, name + ": the server refused " +
                                         std::string(spec_.capability_command) +
                                         " over TLS: " + quote);
        }
        return;
      }
      capabilities_.clear();
      state_ = State::list;
      return;
    case State::starttls:
      if (!spec_.go_ahead(line)) {
        unavailable(options_.policy,
                    "the server refused " + std::string(spec_.starttls_command) + ": " + quote);
        return;
      }
      upgrade();
      return;
    case State::list:
      return;
  }
}

void ListClient::on_capabilities() {
  learned_.capabilities = capabilities_;
  if (over_tls_) {
    finish();
    return;
  }
  if (!offers(options_.policy, capabilities_, spec_.starttls_capability)) return;
  send(std::string(spec_.starttls_command) + "\r\n");
  state_ = State::starttls;
}

void ListClient::ask_capabilities() {
  send(std::string(spec_.capability_command) + "\r\n");
  state_ = State::capabilities;
}

// What was learned in plaintext is discarded, and asked again.
void ListClient::on_tls() {
  over_tls_ = true;
  capabilities_.clear();
  learned_.capabilities.clear();
  ask_capabilities();
}

}  // namespace uptls::starttls
