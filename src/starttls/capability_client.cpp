#include "starttls/capability_client.hpp"

namespace uptls::starttls {

CapabilityClient::CapabilityClient(const Words& words, ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)), words_(words) {}

void CapabilityClient::command(std::string_view verb) { send(std::string(verb) + "\r\n"); }

std::size_t CapabilityClient::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  if (auto response = read(bytes, used)) on_response(std::move(*response));
  return used;
}

void CapabilityClient::on_response(Response response) {
  std::string name(words_.name);
  std::string asked(words_.capability_command);
  std::string verb(words_.starttls_command);
  switch (awaiting_) {
    case Awaiting::greeting:
      if (!response.positive) {
        fail(errc::protocol_error, name + ": the server refused the session: " + response.quoted);
        return;
      }
      learned_.greeting = std::move(response.text);
      if (asked.empty()) {
        on_capabilities(std::move(response));
      } else {
        ask_capabilities();
      }
      return;
    case Awaiting::capabilities:
      if (response.positive) {
        on_capabilities(std::move(response));
      } else if (over_tls_) {
        fail(errc::protocol_error, name + ": the server " +
                                       (asked.empty() ? "ended the session" : "refused " + asked) +
                                       " over TLS: " + response.quoted);
      } else {
        unavailable(options_.policy, "the server refused " + asked + ", so it offers no " + verb +
                                         ": " + response.quoted);
      }
      return;
    case Awaiting::go_ahead:
      if (!response.positive) {
        unavailable(options_.policy, "the server refused " + verb + ": " + response.quoted);
        return;
      }
      upgrade();
      return;
  }
}

void CapabilityClient::on_capabilities(Response response) {
  learned_.capabilities = std::move(response.capabilities);
  if (over_tls_) {
    finish();
    return;
  }
  if (!offers(options_.policy, learned_.capabilities, words_.starttls_capability,
              words_.separator)) {
    return;
  }
  command(words_.starttls_command);
  awaiting_ = Awaiting::go_ahead;
}

void CapabilityClient::ask_capabilities() {
  if (!words_.capability_command.empty()) command(words_.capability_command);
  awaiting_ = Awaiting::capabilities;
}

// What was learned in plaintext is discarded, and asked again (ManageSieve's
// server sends it unasked).
void CapabilityClient::on_tls() {
  over_tls_ = true;
  learned_.capabilities.clear();
  ask_capabilities();
}

}  // namespace uptls::starttls
