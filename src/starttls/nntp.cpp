#include "starttls/nntp.hpp"

#include <algorithm>
#include <ctime>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"

namespace uptls::starttls {
namespace {

/// The code of a reply line (`382 text`), or -1 when it is not one.
int code_of(std::string_view line) {
  if (line.size() < 3 || (line.size() > 3 && line[3] != ' ')) return -1;
  int code = 0;
  for (char c : line.substr(0, 3)) {
    if (c < '0' || c > '9') return -1;
    code = code * 10 + (c - '0');
  }
  return code;
}

}  // namespace

// ---- client ---------------------------------------------------------------

NntpClient::NntpClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {}

std::string_view NntpClient::protocol() const noexcept { return "nntp"; }

std::size_t NntpClient::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) return used;
  if (state_ == State::list || state_ == State::list_tls) {
    if (*line == ".") {
      on_capabilities();
    } else if (capabilities_.size() >= options_.max_reply_lines) {
      fail(errc::protocol_error, "nntp: the server sent more than " +
                                     std::to_string(options_.max_reply_lines) + " capabilities");
    } else {
      std::string_view capability = *line;
      if (!capability.empty() && capability[0] == '.') capability.remove_prefix(1);
      capabilities_.emplace_back(capability);
    }
    return used;
  }
  on_reply(*line);
  return used;
}

void NntpClient::on_reply(std::string_view line) {
  std::string quote = detail::printable(line, 300);
  int code = code_of(line);
  if (code < 0) {
    fail(errc::protocol_error, "nntp: the server sent " + quote + " where a reply was due");
    return;
  }
  switch (state_) {
    case State::greeting:
      if (code != 200 && code != 201) {
        fail(errc::protocol_error, "nntp: the server refused the session: " + quote);
        return;
      }
      learned_.greeting = std::string(line.substr(std::min<std::size_t>(4, line.size())));
      send("CAPABILITIES\r\n");
      state_ = State::capabilities;
      return;
    case State::capabilities:
    case State::capabilities_tls:
      if (code != 101) {
        if (state_ == State::capabilities) {
          unavailable(
              options_.policy,
              "the server does not list its capabilities, so it offers no STARTTLS: " + quote);
        } else {
          fail(errc::protocol_error, "nntp: the server refused CAPABILITIES over TLS: " + quote);
        }
        return;
      }
      capabilities_.clear();
      state_ = state_ == State::capabilities ? State::list : State::list_tls;
      return;
    case State::starttls:
      if (code != 382) {
        unavailable(options_.policy, "the server refused STARTTLS: " + quote);
        return;
      }
      upgrade();
      return;
    case State::list:
    case State::list_tls:
      return;
  }
}

void NntpClient::on_capabilities() {
  learned_.capabilities = capabilities_;
  if (state_ == State::list_tls) {
    finish();
    return;
  }
  if (!offers(options_.policy, capabilities_, "STARTTLS")) return;
  send("STARTTLS\r\n");
  state_ = State::starttls;
}

void NntpClient::on_tls() {
  // RFC 4642 §2.2.2: the client discards what it knew and asks again.
  capabilities_.clear();
  learned_.capabilities.clear();
  send("CAPABILITIES\r\n");
  state_ = State::capabilities_tls;
}

// ---- server ---------------------------------------------------------------

// RFC 4642 §2.2.1 lets a server refuse anything but these before TLS (483).
const NntpServer::Verb NntpServer::verbs[] = {
    {"CAPABILITIES", &NntpServer::capabilities},
    {"STARTTLS", &NntpServer::starttls},
    {"QUIT", &NntpServer::quit},
};

NntpServer::NntpServer(ServerDialogueOptions options)
    : LineServer(std::move(options),
                 {"501 line too long; closing\r\n", "483 TLS is required: STARTTLS first\r\n", "",
                  "400 too many errors; closing\r\n"},
                 verbs, Unlisted::need_tls) {
  send("200 " + (options_.greeting.empty() ? options_.host_name + " NNTP" : options_.greeting) +
       "\r\n");
}

std::string_view NntpServer::protocol() const noexcept { return "nntp"; }

void NntpServer::capabilities(const Command&) {
  std::string list = "101 Capability list:\r\nVERSION 2\r\n";
  for (const std::string& capability : options_.capabilities) list += capability + "\r\n";
  send(list + "STARTTLS\r\n.\r\n");
}

void NntpServer::starttls(const Command& command) {
  accept_starttls(command.rest, "382 Continue with TLS negotiation\r\n",
                  "580 command pipelined after STARTTLS; closing\r\n");
}

void NntpServer::quit(const Command&) {
  send("205 closing connection\r\n");
  peer_left();
}

// RFC 4642 §2.2.2: the client asks CAPABILITIES again, of the application.
void NntpServer::on_tls() { finish(); }

}  // namespace uptls::starttls
