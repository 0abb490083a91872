#include "starttls/imap.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "starttls/literal.hpp"

namespace uptls::starttls {
namespace {

constexpr std::size_t max_server_literal = 1024 * 1024;

}  // namespace

// ---- client ---------------------------------------------------------------

namespace {

constexpr CapabilityClient::Words imap_words{"imap", "CAPABILITY", "STARTTLS", "STARTTLS", " "};

}  // namespace

ImapClient::ImapClient(ClientDialogueOptions options)
    : CapabilityClient(imap_words, std::move(options)) {}

void ImapClient::command(std::string_view verb) {
  ++tag_;
  std::string number = std::to_string(tag_);
  tag_text_ = number.size() < 3 ? std::string(3 - number.size(), '0') + number : number;
  tag_text_.insert(0, 1, 'A');
  send(tag_text_ + " " + std::string(verb) + "\r\n");
}

std::optional<CapabilityClient::Response> ImapClient::read(std::string_view bytes,
                                                           std::size_t& used) {
  auto line = take_response_line(bytes, used, literals_, max_server_literal);
  if (!line) return std::nullopt;
  if (waiting_for() == Awaiting::greeting) return greeting(*line);
  auto [first, rest] = detail::split_command(*line);
  if (first == "*") {
    auto [name, list] = detail::split_command(rest);
    if (detail::iequals(name, "CAPABILITY") && waiting_for() == Awaiting::capabilities) {
      capabilities_ = detail::tokens(list);
    }
    return std::nullopt;
  }
  std::string quote = detail::printable(*line, 300);
  if (first != tag_text_) {
    fail(errc::protocol_error,
         "imap: the server sent " + quote + " where the response to " + tag_text_ + " was due");
    return std::nullopt;
  }
  Response response{
      detail::iequals(detail::first_word(rest), "OK"), std::move(capabilities_), {}, quote};
  capabilities_.clear();
  return response;
}

std::optional<CapabilityClient::Response> ImapClient::greeting(std::string_view line) {
  std::string quote = detail::printable(line, 300);
  auto [first, rest] = detail::split_command(line);
  auto [status, text] = detail::split_command(rest);
  if (first == "*" && detail::iequals(status, "PREAUTH")) {
    unavailable(options_.policy,
                "the server greeted with PREAUTH (already authenticated, so STARTTLS is not "
                "possible): " +
                    quote);
    return std::nullopt;
  }
  bool ok = first == "*" && detail::iequals(status, "OK");
  if (!ok && !(first == "*" && detail::iequals(status, "BYE"))) {
    fail(errc::protocol_error, "imap: not an IMAP greeting: " + quote);
    return std::nullopt;
  }
  return Response{ok, {}, std::string(text), quote};
}

// ---- server ---------------------------------------------------------------

// One table for both policies: LOGIN and AUTHENTICATE need TLS.
const Verb<ImapServer> ImapServer::verbs[] = {
    {"CAPABILITY", &ImapServer::capability},
    {"NOOP", &ImapServer::noop},
    {"LOGOUT", &ImapServer::logout},
    {"STARTTLS", &ImapServer::starttls},
    {"LOGIN"},
    {"AUTHENTICATE"},
};

ImapServer::ImapServer(ServerDialogueOptions options)
    : LiteralServer(
          std::move(options),
          {"* BYE line too long\r\n", "* BYE command too large\r\n", "+ Ready for literal data\r\n",
           "NO [PRIVACYREQUIRED] TLS is required: STARTTLS first\r\n",
           "BAD STARTTLS, then LOGIN first, or the command is unknown\r\n",
           "* BAD a command is a tag and a name\r\n", "* BYE too many errors\r\n"},
          verbs, true) {
  send("* OK [CAPABILITY " + capabilities() + "] " +
       (options_.greeting.empty() ? options_.host_name + " IMAP4rev1" : options_.greeting) +
       "\r\n");
}

std::string_view ImapServer::protocol() const noexcept { return "imap"; }

std::string ImapServer::capabilities() const {
  std::string list = "IMAP4rev1";
  for (const std::string& capability : options_.capabilities) list += " " + capability;
  list += " STARTTLS";
  if (options_.policy == Policy::required) list += " LOGINDISABLED";
  return list;
}

void ImapServer::capability(const Command& command) {
  send("* CAPABILITY " + capabilities() + "\r\n" + std::string(command.tag) +
       " OK CAPABILITY completed\r\n");
}

void ImapServer::noop(const Command& command) {
  send(std::string(command.tag) + " OK NOOP completed\r\n");
}

void ImapServer::logout(const Command& command) {
  send("* BYE " + options_.host_name + " logging out\r\n" + std::string(command.tag) +
       " OK LOGOUT completed\r\n");
  peer_left();
}

void ImapServer::starttls(const Command& command) {
  std::string tag(command.tag);
  accept_starttls(command.rest, tag + " OK Begin TLS negotiation now\r\n",
                  tag + " BAD command pipelined after STARTTLS; closing\r\n");
}

// RFC 9051 §6.2.1: nothing from before TLS carries over; the client asks
// CAPABILITY again, of the application.
void ImapServer::on_tls() { finish(); }

}  // namespace uptls::starttls
