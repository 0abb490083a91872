#include "starttls/pop3.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"

namespace uptls::starttls {
namespace {

bool ok(std::string_view line) { return line.substr(0, 3) == "+OK"; }

}  // namespace

// ---- client ---------------------------------------------------------------

Pop3Client::Pop3Client(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {}

std::string_view Pop3Client::protocol() const noexcept { return "pop3"; }

std::size_t Pop3Client::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) return used;
  if (state_ == State::capa_list || state_ == State::capa_list_tls) {
    if (*line == ".") {
      on_capabilities();
    } else if (capabilities_.size() >= options_.max_reply_lines) {
      fail(errc::protocol_error, "pop3: the server sent a CAPA list longer than " +
                                     std::to_string(options_.max_reply_lines) + " lines");
    } else {
      std::string_view capability = *line;
      if (!capability.empty() && capability[0] == '.') capability.remove_prefix(1);
      capabilities_.emplace_back(capability);
    }
    return used;
  }
  on_status(*line);
  return used;
}

void Pop3Client::on_status(std::string_view line) {
  std::string quote = detail::printable(line, 300);
  if (line.substr(0, 3) != "+OK" && line.substr(0, 4) != "-ERR") {
    fail(errc::protocol_error, "pop3: the server sent " + quote + " where +OK or -ERR was due");
    return;
  }
  switch (state_) {
    case State::greeting:
      if (!ok(line)) {
        fail(errc::protocol_error, "pop3: the server refused the session: " + quote);
        return;
      }
      learned_.greeting = std::string(line.substr(std::min<std::size_t>(4, line.size())));
      send("CAPA\r\n");
      state_ = State::capa;
      return;
    case State::capa:
    case State::capa_tls:
      if (!ok(line)) {
        if (state_ == State::capa) {
          unavailable(
              options_.policy,
              "the server does not list its capabilities (CAPA), so it offers no STLS: " + quote);
        } else {
          fail(errc::protocol_error, "pop3: the server refused CAPA over TLS: " + quote);
        }
        return;
      }
      capabilities_.clear();
      state_ = state_ == State::capa ? State::capa_list : State::capa_list_tls;
      return;
    case State::stls:
      if (!ok(line)) {
        unavailable(options_.policy, "the server refused STLS: " + quote);
        return;
      }
      upgrade();
      return;
    case State::capa_list:
    case State::capa_list_tls:
      return;
  }
}

void Pop3Client::on_capabilities() {
  learned_.capabilities = capabilities_;
  if (state_ == State::capa_list_tls) {
    finish();
    return;
  }
  if (!offers(options_.policy, capabilities_, "STLS")) return;
  send("STLS\r\n");
  state_ = State::stls;
}

void Pop3Client::on_tls() {
  // RFC 2595 §4: the client discards what it knew and asks again.
  capabilities_.clear();
  learned_.capabilities.clear();
  send("CAPA\r\n");
  state_ = State::capa_tls;
}

// ---- server ---------------------------------------------------------------

// One table for both policies: USER, PASS, APOP and AUTH need TLS.
const Pop3Server::Verb Pop3Server::verbs[] = {
    {"CAPA", &Pop3Server::capa},
    {"STLS", &Pop3Server::stls},
    {"QUIT", &Pop3Server::quit},
    {"USER"},
    {"PASS"},
    {"APOP"},
    {"AUTH"},
};

Pop3Server::Pop3Server(ServerDialogueOptions options)
    : LineServer(std::move(options),
                 {"-ERR line too long; closing\r\n", "-ERR [AUTH] TLS is required: STLS first\r\n",
                  "-ERR unknown command, or STLS first\r\n", "-ERR too many errors; closing\r\n"},
                 verbs, Unlisted::unknown) {
  send("+OK " + (options_.greeting.empty() ? options_.host_name + " POP3" : options_.greeting) +
       "\r\n");
}

std::string_view Pop3Server::protocol() const noexcept { return "pop3"; }

void Pop3Server::capa(const Command&) {
  std::string list = "+OK Capability list follows\r\n";
  for (const std::string& capability : options_.capabilities) list += capability + "\r\n";
  send(list + "STLS\r\n.\r\n");
}

void Pop3Server::stls(const Command& command) {
  accept_starttls(command.rest, "+OK Begin TLS negotiation\r\n",
                  "-ERR command pipelined after STLS; closing\r\n");
}

void Pop3Server::quit(const Command&) {
  send("+OK " + options_.host_name + " signing off\r\n");
  peer_left();
}

// RFC 2595 §4: the client asks CAPA again, of the application.
void Pop3Server::on_tls() { finish(); }

}  // namespace uptls::starttls
