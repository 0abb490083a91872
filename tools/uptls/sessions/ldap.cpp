// LDAP after StartTLS: an empty directory; any bind is accepted.

#include <string>
#include <vector>

#include "sessions/session.hpp"
#include "starttls/ber.hpp"
#include "starttls/ldap_wire.hpp"

namespace uptls::sessions {
namespace {

using namespace detail::ldap;

class LdapSession final : public Session {
 public:
  using Session::Session;
  std::string_view protocol() const noexcept override { return "ldap"; }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
  void on_message(long id, unsigned char operation, std::string_view body);
  void disconnect(std::string reason);
};

void LdapSession::disconnect(std::string reason) {
  send(result(0, extended_response, 2, reason, disconnection_oid));
  fail(errc::protocol_error, "ldap: " + reason);
}

std::size_t LdapSession::on_receive(std::string_view bytes) {
  Message message;
  std::string problem = read_message(bytes, std::min(max_message, options_.max_message), message);
  if (!problem.empty()) {
    disconnect("the client sent " + problem);
    return 0;
  }
  if (message.size == 0) return 0;
  on_message(message.id, message.operation, message.body);
  return message.size;
}

void LdapSession::on_message(long id, unsigned char operation, std::string_view body) {
  std::vector<detail::Tlv> fields;
  bool parsed = detail::read_all(body, fields);
  switch (operation) {
    case extended_request:
      send(result(id, extended_response, learned_.tls ? 1 : 2,
                  learned_.tls ? "TLS is already active" : "unsupported extended operation"));
      return;
    case bind_request: {
      std::string name = parsed && fields.size() >= 2 ? std::string(fields[1].value) : "";
      log("ldap bind as \"" + name + "\"");
      send(result(id, bind_response, 0, ""));
      return;
    }
    case search_request: {
      bool root_dse = parsed && fields.size() >= 2 && fields[0].value.empty() &&
                      fields[1].value == std::string_view("\0", 1);
      if (!root_dse) {
        send(result(id, search_done, 32, "this directory is empty"));
        return;
      }
      std::string attributes = attribute("supportedLDAPVersion", {"3"}) +
                               attribute("vendorName", {"uptls"}) + attribute("namingContexts", {});
      send(message(
          id, detail::tlv(search_entry, detail::tlv(0x04, "") + detail::tlv(0x30, attributes))));
      send(result(id, search_done, 0, ""));
      return;
    }
    case unbind_request:
      finish();
      return;
    case abandon_request:
      return;
    default:
      disconnect("unsupported operation");
      return;
  }
}

}  // namespace

std::unique_ptr<starttls::Dialogue> ldap_session(const starttls::Learned& handed_over,
                                                 Options options) {
  return std::make_unique<LdapSession>(handed_over, std::move(options));
}

}  // namespace uptls::sessions
