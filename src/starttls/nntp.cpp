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

namespace {

bool is_reply(std::string_view line) { return code_of(line) >= 0; }
bool greeting_ok(std::string_view line) {
  int code = code_of(line);
  return code == 200 || code == 201;
}
bool list_follows(std::string_view line) { return code_of(line) == 101; }
bool go_ahead(std::string_view line) { return code_of(line) == 382; }

constexpr ListProtocol nntp{{"nntp", "CAPABILITIES", "STARTTLS", "STARTTLS"},
                            is_reply,
                            greeting_ok,
                            list_follows,
                            go_ahead,
                            4};

}  // namespace

NntpClient::NntpClient(ClientDialogueOptions options) : ListClient(nntp, std::move(options)) {}

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
