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

namespace {

bool is_status(std::string_view line) {
  return line.substr(0, 3) == "+OK" || line.substr(0, 4) == "-ERR";
}

constexpr ListProtocol pop3{{"pop3", "CAPA", "STLS", "STLS"}, is_status, ok, ok, ok, 4};

}  // namespace

Pop3Client::Pop3Client(ClientDialogueOptions options) : ListClient(pop3, std::move(options)) {}

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
