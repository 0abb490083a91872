#include "starttls/sieve.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "starttls/literal.hpp"

namespace uptls::starttls {
namespace {

constexpr std::size_t max_server_literal = 1024 * 1024;

/// The status word of a response line (OK, NO, BYE), or empty.
std::string_view status_of(std::string_view line) {
  std::string_view word = detail::first_word(line);
  for (std::string_view status : {"OK", "NO", "BYE"}) {
    if (detail::iequals(word, status)) return status;
  }
  return {};
}

}  // namespace

// ---- client ---------------------------------------------------------------

namespace {

// The server sends its capabilities unasked: in its greeting and over TLS.
constexpr CapabilityClient::Words sieve_words{"sieve", "", "STARTTLS", "STARTTLS"};

}  // namespace

SieveClient::SieveClient(ClientDialogueOptions options)
    : CapabilityClient(sieve_words, std::move(options)) {}

std::optional<CapabilityClient::Response> SieveClient::read(std::string_view bytes,
                                                            std::size_t& used) {
  auto line = take_response_line(bytes, used, literals_, max_server_literal);
  if (!line) return std::nullopt;
  std::string quote = detail::printable(*line, 300);
  std::string_view status = status_of(*line);
  if (status.empty()) {
    if (waiting_for() == Awaiting::go_ahead) {
      fail(errc::protocol_error, "sieve: the server sent " + quote + " where OK or NO was due");
      return std::nullopt;
    }
    if (capabilities_.size() >= options_.max_reply_lines) {
      fail(errc::protocol_error,
           "sieve: more than " + std::to_string(options_.max_reply_lines) + " capabilities");
      return std::nullopt;
    }
    std::string capability;
    for (const auto& word : detail::tokens(*line)) {
      capability += (capability.empty() ? "" : " ") + word;
    }
    capabilities_.push_back(std::move(capability));
    return std::nullopt;
  }
  Response response{status == "OK", {}, {}, quote};
  for (const auto& capability : capabilities_) {
    if (detail::istarts_with(capability, "IMPLEMENTATION ")) response.text = capability.substr(15);
  }
  response.capabilities = std::move(capabilities_);
  capabilities_.clear();
  return response;
}

// ---- server ---------------------------------------------------------------

// One table for both policies: AUTHENTICATE needs TLS.
const Verb<SieveServer> SieveServer::verbs[] = {
    {"CAPABILITY", &SieveServer::capability},
    {"NOOP", &SieveServer::noop},
    {"LOGOUT", &SieveServer::logout},
    {"STARTTLS", &SieveServer::starttls},
    {"AUTHENTICATE"},
};

// RFC 5804 §4: clients send {n+}; a synchronizing literal needs no
// go-ahead either.
SieveServer::SieveServer(ServerDialogueOptions options)
    : LiteralServer(std::move(options),
                    {"BYE \"line too long\"\r\n", "BYE \"command too large\"\r\n", "",
                     "NO (ENCRYPT-NEEDED) \"TLS is required: STARTTLS first\"\r\n",
                     "NO \"STARTTLS, then AUTHENTICATE first\"\r\n",
                     "NO \"STARTTLS, then AUTHENTICATE first\"\r\n", "BYE \"too many errors\"\r\n"},
                    verbs, false) {
  capabilities();
}

std::string_view SieveServer::protocol() const noexcept { return "sieve"; }

void SieveServer::capabilities() {
  auto named = [](std::string_view line, std::string_view name) {
    return detail::istarts_with(line, "\"" + std::string(name) + "\"");
  };
  std::string list;
  bool implementation = false;
  for (const std::string& line : options_.capabilities) {
    implementation = implementation || named(line, "IMPLEMENTATION");
    // No mechanism is offered where it would be refused.
    bool refused = named(line, "SASL") && !learned_.tls && options_.policy == Policy::required;
    list += (refused ? std::string("\"SASL\" \"\"") : line) + "\r\n";
  }
  // RFC 5804 §1.7: IMPLEMENTATION and VERSION are required.
  if (!implementation) list = "\"IMPLEMENTATION\" \"uptls\"\r\n" + list;
  if (!learned_.tls) list += "\"STARTTLS\"\r\n";
  std::string greeting =
      options_.greeting.empty() ? options_.host_name + " ManageSieve ready" : options_.greeting;
  send(list + "\"VERSION\" \"1.0\"\r\nOK \"" + greeting + "\"\r\n");
}

void SieveServer::capability(const Command&) { capabilities(); }

void SieveServer::noop(const Command&) { send("OK \"NOOP completed\"\r\n"); }

void SieveServer::logout(const Command&) {
  send("OK \"Logout completed\"\r\n");
  peer_left();
}

void SieveServer::starttls(const Command& command) {
  accept_starttls(command.rest, "OK \"Begin TLS negotiation now\"\r\n",
                  "BYE \"command pipelined after STARTTLS; closing\"\r\n");
}

// RFC 5804 §2.2: the server sends its capabilities again, then the
// application serves.
void SieveServer::on_tls() {
  capabilities();
  finish();
}

}  // namespace uptls::starttls
