#include "uptls/starttls/xmpp.hpp"

#include <algorithm>

#include "printable.hpp"
#include "starttls/sasl.hpp"
#include "starttls/xml.hpp"

namespace uptls::starttls {
namespace {

constexpr std::string_view tls_ns = "urn:ietf:params:xml:ns:xmpp-tls";
constexpr std::string_view sasl_ns = "urn:ietf:params:xml:ns:xmpp-sasl";
constexpr std::string_view bind_ns = "urn:ietf:params:xml:ns:xmpp-bind";
constexpr std::string_view streams_ns = "http://etherx.jabber.org/streams";
constexpr std::size_t max_element = 64 * 1024;

/// What a stream offers: the names of the children of <stream:features>,
/// with the mechanisms listed after "mechanisms".
std::vector<std::string> features_of(std::string_view element) {
  std::vector<std::string> out;
  std::size_t at = 0;
  int depth = 0;
  bool in_mechanism = false;
  for (;;) {
    detail::XmlToken token;
    if (detail::next_token(element.substr(at), token) != detail::XmlScan::ok) break;
    at += token.raw.size();
    std::string_view local = detail::local_name(token.name);
    if (token.kind == detail::XmlToken::start || token.kind == detail::XmlToken::empty) {
      if (depth == 1 && out.size() < 100) out.emplace_back(local);
      in_mechanism = depth == 2 && local == "mechanism" && token.kind == detail::XmlToken::start;
      if (token.kind == detail::XmlToken::start) ++depth;
    } else if (token.kind == detail::XmlToken::end) {
      --depth;
      in_mechanism = false;
    } else if (token.kind == detail::XmlToken::text && in_mechanism && !out.empty()) {
      out.back() += " " + std::string(token.raw);
    }
    if (at >= element.size()) break;
  }
  return out;
}

/// The text of the first element named name inside element, if any.
std::string text_of(std::string_view element, std::string_view name) {
  std::size_t at = 0;
  bool inside = false;
  for (;;) {
    detail::XmlToken token;
    if (detail::next_token(element.substr(at), token) != detail::XmlScan::ok) return {};
    at += token.raw.size();
    if (token.kind == detail::XmlToken::start && detail::local_name(token.name) == name) {
      inside = true;
    } else if (inside && token.kind == detail::XmlToken::text) {
      return std::string(token.raw);
    } else if (inside) {
      return {};
    }
    if (at >= element.size()) return {};
  }
}

/// The first tag of an element (its start tag, with the attributes).
std::string_view start_tag(std::string_view element) {
  return element.substr(0, element.find('>') + 1);
}

}  // namespace

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

void XmppServer::stream_error(std::string_view condition, std::string_view text) {
  send("<stream:error><" + std::string(condition) +
       " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
       "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>" +
       std::string(text) + "</text></stream:error></stream:stream>");
}

std::size_t XmppServer::on_receive(std::string_view bytes) {
  detail::XmlToken token;
  auto scan = detail::next_token(bytes, token);
  if (scan == detail::XmlScan::need_more) {
    if (bytes.size() > max_element) {
      stream_error("policy-violation", "element too long");
      fail(errc::line_too_long, std::string(protocol()) +
                                    ": the client sent an XML token "
                                    "longer than the limit");
    }
    return 0;
  }
  if (scan == detail::XmlScan::invalid) {
    stream_error("not-well-formed", "malformed XML");
    fail(errc::protocol_error, std::string(protocol()) + ": the client sent malformed XML (" +
                                   detail::printable(bytes) + ")");
    return 0;
  }
  if (token.kind == detail::XmlToken::text || token.kind == detail::XmlToken::comment ||
      token.kind == detail::XmlToken::declaration) {
    return token.raw.size();
  }
  if (!in_stream_) {
    if (token.kind != detail::XmlToken::start || detail::local_name(token.name) != "stream") {
      stream_error("not-well-formed", "open a stream first");
      fail(errc::protocol_error, std::string(protocol()) + ": the client did not open a stream (" +
                                     detail::printable(token.raw) + ")");
      return 0;
    }
    on_header(token.raw);
    return token.raw.size();
  }
  if (token.kind == detail::XmlToken::end) {
    send("</stream:stream>");
    finish();
    return token.raw.size();
  }
  std::size_t size = 0;
  scan = detail::element_size(bytes, size);
  if (scan == detail::XmlScan::need_more) {
    if (bytes.size() > max_element) {
      stream_error("policy-violation", "element too long");
      fail(errc::line_too_long, std::string(protocol()) +
                                    ": the client sent an element longer "
                                    "than the limit");
    }
    return 0;
  }
  if (scan == detail::XmlScan::invalid) {
    stream_error("not-well-formed", "malformed XML");
    fail(errc::protocol_error, std::string(protocol()) + ": the client sent malformed XML");
    return 0;
  }
  on_element(bytes.substr(0, size), detail::local_name(token.name), bytes.substr(size));
  return size;
}

void XmppServer::on_header(std::string_view tag) {
  in_stream_ = true;
  ++streams_;
  std::string features;
  if (!learned_.tls) {
    features = "<starttls xmlns='" + std::string(tls_ns) + "'>" +
               (options_.policy == Policy::required ? "<required/>" : "") + "</starttls>";
  } else if (server_to_server_) {
    features = "<dialback xmlns='urn:xmpp:features:dialback'/>";
  } else if (!authenticated_) {
    features = "<mechanisms xmlns='" + std::string(sasl_ns) + "'><mechanism>PLAIN</mechanism>" +
               "</mechanisms>";
  } else {
    features = "<bind xmlns='" + std::string(bind_ns) + "'/>";
  }
  auto to = detail::attribute(tag, "to");
  learned_.greeting = to ? std::string(*to) : std::string();
  send("<?xml version='1.0'?><stream:stream xmlns='" +
       std::string(server_to_server_ ? "jabber:server" : "jabber:client") + "' xmlns:stream='" +
       std::string(streams_ns) + "' id='uptls-" + std::to_string(streams_) + "' from='" +
       options_.host_name + "' version='1.0' xml:lang='en'><stream:features>" + features +
       "</stream:features>");
}

void XmppServer::on_element(std::string_view element, std::string_view name,
                            std::string_view rest) {
  std::string tag(start_tag(element));
  if (name == "starttls") {
    if (learned_.tls) {
      stream_error("policy-violation", "TLS is already active");
      fail(errc::protocol_error, std::string(protocol()) + ": STARTTLS over TLS");
      return;
    }
    accept_starttls(rest, "<proceed xmlns='" + std::string(tls_ns) + "'/>",
                    "<failure xmlns='" + std::string(tls_ns) + "'/></stream:stream>");
    return;
  }
  if (!learned_.tls && options_.policy == Policy::required) {
    stream_error("policy-violation", "TLS is required: STARTTLS first");
    fail(errc::protocol_error, std::string(protocol()) + ": the client sent <" + std::string(name) +
                                   "> before TLS, which is required");
    return;
  }
  if (!options_.session) {
    // Plaintext was allowed: the application serves this element.
    finish();
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
    if (options_.log) options_.log(std::string(protocol()) + " login as " + user_);
    send("<success xmlns='" + std::string(sasl_ns) + "'/>");
    in_stream_ = false;  // RFC 6120 §6.4.6: the client restarts the stream
    return;
  }
  if (name == "iq") {
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
      send("<iq type='result'" + id_attribute + "><bind xmlns='" + std::string(bind_ns) +
           "'><jid>" + detail::xml_escape(user_ + "@" + options_.host_name + "/" + resource) +
           "</jid></bind></iq>");
    } else {
      send("<iq type='result'" + id_attribute + "/>");
    }
    return;
  }
  if (options_.log) options_.log(std::string(protocol()) + " <" + std::string(name) + ">");
}

void XmppServer::on_tls() {
  // RFC 6120 §5.4.3.3: the client opens a new stream.
  in_stream_ = false;
  if (!options_.session) finish();
}

void XmppServer::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
