#include "starttls/xmpp.hpp"
#include "starttls/xmpp_wire.hpp"

#include <algorithm>

#include "printable.hpp"
#include "starttls/sasl.hpp"
#include "starttls/xml.hpp"

namespace uptls::starttls {

using namespace detail::xmpp;

// ---- client ---------------------------------------------------------------

XmppClient::XmppClient(ClientDialogueOptions options, bool server_to_server)
    : Dialogue(Role::client, options.max_line),
      options_(std::move(options)),
      server_to_server_(server_to_server) {
  if (options_.server_name.empty()) options_.server_name = "localhost";
  open_stream();
}

std::string_view XmppClient::protocol() const noexcept {
  return server_to_server_ ? "xmpp-server" : "xmpp";
}

void XmppClient::open_stream() {
  send("<?xml version='1.0'?><stream:stream to='" + options_.server_name +
       "' version='1.0' xml:lang='en' xmlns='" +
       (server_to_server_ ? "jabber:server" : "jabber:client") + "' xmlns:stream='" +
       std::string(streams_ns) + "'>");
}

std::size_t XmppClient::on_receive(std::string_view bytes) {
  detail::XmlToken token;
  switch (detail::next_token(bytes, token)) {
    case detail::XmlScan::need_more:
      if (bytes.size() > max_element) {
        fail(errc::protocol_error, std::string(protocol()) + ": an XML token longer than " +
                                       std::to_string(max_element) + " bytes");
      }
      return 0;
    case detail::XmlScan::invalid:
      fail(errc::protocol_error, std::string(protocol()) + ": the server sent something that " +
                                     "is not XMPP (" + detail::printable(bytes) + ")");
      return 0;
    case detail::XmlScan::ok:
      break;
  }
  if (token.kind == detail::XmlToken::text || token.kind == detail::XmlToken::comment ||
      token.kind == detail::XmlToken::declaration) {
    if (token.kind == detail::XmlToken::text &&
        token.raw.find_first_not_of(" \t\r\n") != std::string_view::npos) {
      fail(errc::protocol_error, std::string(protocol()) + ": the server sent text outside " +
                                     "elements (" + detail::printable(token.raw) + ")");
      return 0;
    }
    return token.raw.size();
  }
  if (token.kind == detail::XmlToken::end) {
    fail(errc::protocol_error, std::string(protocol()) + ": the server closed the stream");
    return 0;
  }
  if (state_ == State::header || state_ == State::header_tls) {
    if (token.kind != detail::XmlToken::start || detail::local_name(token.name) != "stream") {
      fail(errc::protocol_error, std::string(protocol()) + ": the server did not open a stream (" +
                                     detail::printable(token.raw) + ")");
      return 0;
    }
    if (state_ == State::header) {
      auto from = detail::attribute(token.raw, "from");
      learned_.greeting = "stream from " + std::string(from ? *from : "(no name)");
    }
    state_ = state_ == State::header ? State::features : State::features_tls;
    return token.raw.size();
  }
  std::size_t size = 0;
  switch (detail::element_size(bytes, size)) {
    case detail::XmlScan::need_more:
      if (bytes.size() > max_element) {
        fail(errc::protocol_error, std::string(protocol()) + ": an element longer than " +
                                       std::to_string(max_element) + " bytes");
      }
      return 0;
    case detail::XmlScan::invalid:
      fail(errc::protocol_error, std::string(protocol()) + ": malformed XML from the server (" +
                                     detail::printable(bytes) + ")");
      return 0;
    case detail::XmlScan::ok:
      break;
  }
  on_element(bytes.substr(0, size), detail::local_name(token.name));
  return size;
}

void XmppClient::on_element(std::string_view element, std::string_view name) {
  std::string quote = detail::printable(element, 300);
  if (name == "error") {
    fail(errc::protocol_error,
         std::string(protocol()) + ": the server sent a stream error: " + quote);
    return;
  }
  switch (state_) {
    case State::features:
    case State::features_tls: {
      if (name != "features") return;  // other first-level elements: not ours to read
      learned_.capabilities = features_of(element);
      if (state_ == State::features_tls) {
        finish();
        return;
      }
      bool offered = element.find(tls_ns) != std::string_view::npos &&
                     std::find(learned_.capabilities.begin(), learned_.capabilities.end(),
                               "starttls") != learned_.capabilities.end();
      if (!offered) {
        unavailable(options_.policy,
                    "the server did not offer STARTTLS (its features: " + quote + ")");
        return;
      }
      send("<starttls xmlns='" + std::string(tls_ns) + "'/>");
      state_ = State::starttls;
      return;
    }
    case State::starttls:
      if (name == "proceed") {
        upgrade();
      } else {
        unavailable(options_.policy, "the server refused STARTTLS: " + quote);
      }
      return;
    case State::header:
    case State::header_tls:
      return;
  }
}

void XmppClient::on_tls() {
  // RFC 6120 §5.4.3.3: a new stream over TLS; nothing from before is kept.
  learned_.capabilities.clear();
  open_stream();
  state_ = State::header_tls;
}

// ---- server ---------------------------------------------------------------

XmppServer::XmppServer(ServerDialogueOptions options, bool server_to_server)
    : Dialogue(Role::server, options.max_line),
      options_(std::move(options)),
      server_to_server_(server_to_server) {}

std::string_view XmppServer::protocol() const noexcept {
  return server_to_server_ ? "xmpp-server" : "xmpp";
}

std::size_t XmppServer::on_receive(std::string_view bytes) {
  Unit unit = read_unit(bytes, in_stream_);
  switch (unit.kind) {
    case Unit::need_more:
      return 0;
    case Unit::failed:
      send(stream_error(unit.condition, unit.text));
      fail(unit.code, std::string(protocol()) + ": " + unit.problem);
      return 0;
    case Unit::skip:
      return unit.size;
    case Unit::header:
      on_header(unit.raw);
      return unit.size;
    case Unit::end:
      send("</stream:stream>");
      peer_left();
      return unit.size;
    case Unit::element:
      on_element(unit.name, bytes.substr(unit.size));
      // An element handed to the application stays unread.
      return next() == Next::done ? 0 : unit.size;
  }
  return 0;
}

void XmppServer::on_header(std::string_view tag) {
  in_stream_ = true;
  std::string features = "<starttls xmlns='" + std::string(tls_ns) + "'>" +
                         (options_.policy == Policy::required ? "<required/>" : "") + "</starttls>";
  for (const std::string& feature : options_.capabilities) features += feature;
  auto to = detail::attribute(tag, "to");
  learned_.greeting = to ? std::string(*to) : std::string();
  send("<?xml version='1.0'?><stream:stream xmlns='" +
       std::string(server_to_server_ ? "jabber:server" : "jabber:client") + "' xmlns:stream='" +
       std::string(streams_ns) + "' id='uptls-1' from='" + options_.host_name +
       "' version='1.0' xml:lang='en'><stream:features>" + features + "</stream:features>");
}

void XmppServer::on_element(std::string_view name, std::string_view rest) {
  if (name == "starttls") {
    accept_starttls(rest, "<proceed xmlns='" + std::string(tls_ns) + "'/>",
                    "<failure xmlns='" + std::string(tls_ns) + "'/></stream:stream>");
    return;
  }
  if (options_.policy == Policy::opportunistic) {
    // Plaintext was allowed: the application serves this element.
    finish();
    return;
  }
  send(stream_error("policy-violation", "TLS is required: STARTTLS first"));
  fail(errc::protocol_error, std::string(protocol()) + ": the client sent <" + std::string(name) +
                                 "> before TLS, which is required");
}

// RFC 6120 §5.4.3.3: the client opens a new stream over TLS, to the
// application.
void XmppServer::on_tls() { finish(); }

void XmppServer::on_end_of_input() { peer_left(); }

}  // namespace uptls::starttls
