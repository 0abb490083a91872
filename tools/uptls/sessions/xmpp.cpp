// XMPP after STARTTLS: SASL PLAIN for any user, resource binding, empty
// results to other IQs, messages and presence logged.

#include <string>

#include "sessions/session.hpp"
#include "starttls/sasl.hpp"
#include "starttls/xml.hpp"
#include "starttls/xmpp_wire.hpp"

namespace uptls::sessions {
namespace {

using namespace detail::xmpp;

class XmppSession final : public Session {
 public:
  XmppSession(const starttls::Learned& handed_over, Options options, bool server_to_server)
      : Session(handed_over, std::move(options)),
        server_to_server_(server_to_server),
        // In plaintext the dialogue read the stream's header already.
        in_stream_(!handed_over.tls) {}
  std::string_view protocol() const noexcept override {
    return server_to_server_ ? "xmpp-server" : "xmpp";
  }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
  void on_header();
  void on_element(std::string_view element, std::string_view name);
  void iq(std::string_view element, std::string_view tag);

  bool server_to_server_;
  bool in_stream_;
  bool authenticated_ = false;
  std::string user_;
  unsigned streams_ = 1;
};

std::size_t XmppSession::on_receive(std::string_view bytes) {
  Unit unit = read_unit(bytes, in_stream_);
  switch (unit.kind) {
    case Unit::need_more:
      return 0;
    case Unit::failed:
      send(stream_error(unit.condition, unit.text));
      fail(unit.code, std::string(protocol()) + ": " + unit.problem);
      return 0;
    case Unit::skip:
      break;
    case Unit::header:
      on_header();
      break;
    case Unit::end:
      send("</stream:stream>");
      finish();
      break;
    case Unit::element:
      on_element(unit.raw, unit.name);
      break;
  }
  return unit.size;
}

void XmppSession::on_header() {
  in_stream_ = true;
  ++streams_;
  std::string features;
  if (server_to_server_) {
    features = "<dialback xmlns='urn:xmpp:features:dialback'/>";
  } else if (!authenticated_) {
    features = "<mechanisms xmlns='" + std::string(sasl_ns) + "'><mechanism>PLAIN</mechanism>" +
               "</mechanisms>";
  } else {
    features = "<bind xmlns='" + std::string(bind_ns) + "'/>";
  }
  send("<?xml version='1.0'?><stream:stream xmlns='" +
       std::string(server_to_server_ ? "jabber:server" : "jabber:client") + "' xmlns:stream='" +
       std::string(streams_ns) + "' id='uptls-" + std::to_string(streams_) + "' from='" +
       options_.host_name + "' version='1.0' xml:lang='en'><stream:features>" + features +
       "</stream:features>");
}

void XmppSession::on_element(std::string_view element, std::string_view name) {
  if (name == "starttls") {
    send(stream_error("policy-violation",
                      learned_.tls ? "TLS is already active" : "this stream went on in plaintext"));
    fail(errc::protocol_error, std::string(protocol()) + ": STARTTLS in the session");
    return;
  }
  if (name == "auth" && !server_to_server_ && !authenticated_) {
    auto user = detail::sasl_plain_user(text_of(element, "auth"));
    if (!user) {
      send("<failure xmlns='" + std::string(sasl_ns) + "'><malformed-request/></failure>");
      return;
    }
    authenticated_ = true;
    user_ = *user;
    log(std::string(protocol()) + " login as " + user_);
    send("<success xmlns='" + std::string(sasl_ns) + "'/>");
    in_stream_ = false;  // RFC 6120 §6.4.6: the client restarts the stream
    return;
  }
  if (name == "iq") {
    iq(element, start_tag(element));
    return;
  }
  log(std::string(protocol()) + " <" + std::string(name) + ">");
}

void XmppSession::iq(std::string_view element, std::string_view tag) {
  auto id = detail::attribute(tag, "id");
  // The value as it stood in the tag, entities and all: only a quote of
  // the other kind can be in it, and it must not end our quoting.
  std::string id_attribute;
  if (id) {
    id_attribute = " id='";
    for (char c : *id) id_attribute += c == '\'' ? std::string("&apos;") : std::string(1, c);
    id_attribute += "'";
  }
  if (element.find(bind_ns) != std::string_view::npos) {
    std::string resource = text_of(element, "resource");
    if (resource.empty()) resource = "uptls";
    send("<iq type='result'" + id_attribute + "><bind xmlns='" + std::string(bind_ns) + "'><jid>" +
         detail::xml_escape(user_ + "@" + options_.host_name + "/" + resource) +
         "</jid></bind></iq>");
  } else {
    send("<iq type='result'" + id_attribute + "/>");
  }
}

}  // namespace

std::unique_ptr<starttls::Dialogue> xmpp_session(const starttls::Learned& handed_over,
                                                 Options options, bool server_to_server) {
  return std::make_unique<XmppSession>(handed_over, std::move(options), server_to_server);
}

}  // namespace uptls::sessions
