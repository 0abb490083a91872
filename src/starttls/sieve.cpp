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

SieveClient::SieveClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {}

std::string_view SieveClient::protocol() const noexcept { return "sieve"; }

std::size_t SieveClient::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_response_line(bytes, used, literals_, max_server_literal);
  if (line) on_line(*line);
  return used;
}

void SieveClient::on_line(std::string_view line) {
  std::string quote = detail::printable(line, 300);
  std::string_view status = status_of(line);
  if (status.empty()) {
    if (state_ == State::starttls) {
      fail(errc::protocol_error, "sieve: the server sent " + quote + " where OK or NO was due");
      return;
    }
    if (capabilities_.size() >= options_.max_reply_lines) {
      fail(errc::protocol_error,
           "sieve: more than " + std::to_string(options_.max_reply_lines) + " capabilities");
      return;
    }
    std::string capability;
    for (const auto& word : detail::tokens(line)) {
      capability += (capability.empty() ? "" : " ") + word;
    }
    capabilities_.push_back(std::move(capability));
    return;
  }
  if (status != "OK") {
    if (state_ == State::capabilities_tls) {
      fail(errc::protocol_error, "sieve: the server ended the session over TLS: " + quote);
    } else if (state_ == State::starttls) {
      unavailable(options_.policy, "the server refused STARTTLS: " + quote);
    } else {
      fail(errc::protocol_error, "sieve: the server refused the session: " + quote);
    }
    return;
  }
  switch (state_) {
    case State::capabilities: {
      learned_.capabilities = capabilities_;
      for (const auto& capability : capabilities_) {
        if (detail::istarts_with(capability, "IMPLEMENTATION ")) {
          learned_.greeting = capability.substr(15);
        }
      }
      if (!offers(options_.policy, capabilities_, "STARTTLS")) return;
      send("STARTTLS\r\n");
      state_ = State::starttls;
      return;
    }
    case State::starttls:
      upgrade();
      return;
    case State::capabilities_tls:
      learned_.capabilities = capabilities_;
      finish();
      return;
  }
}

void SieveClient::on_tls() {
  // RFC 5804 §2.2: the server sends its capabilities again; nothing from
  // before TLS is kept.
  capabilities_.clear();
  learned_.capabilities.clear();
  state_ = State::capabilities_tls;
}

// ---- server ---------------------------------------------------------------

SieveServer::SieveServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line),
      options_(std::move(options)),
      command_(std::make_unique<detail::CommandAssembler>(detail::max_unauthenticated_command)) {
  capabilities();
}

SieveServer::~SieveServer() = default;

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

std::size_t SieveServer::on_receive(std::string_view bytes) {
  if (command_->in_literal()) return command_->add_literal(bytes);
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("BYE \"line too long\"\r\n");
    return used;
  }
  if (command_->empty() && options_.policy == Policy::opportunistic &&
      detail::verb_is_one_of(*line, {"AUTHENTICATE"})) {
    // Plaintext was allowed: the application serves this command.
    finish();
    return 0;
  }
  bool synchronizing = false;
  switch (command_->add_line(*line, synchronizing)) {
    case detail::CommandAssembler::Line::too_large:
      send("BYE \"command too large\"\r\n");
      fail(errc::line_too_long, "sieve: the client sent a command larger than " +
                                    std::to_string(command_->limit()) + " bytes before TLS");
      break;
    case detail::CommandAssembler::Line::literal_follows:
      // RFC 5804 §4: clients send {n+}; a synchronizing literal needs no
      // go-ahead either.
      break;
    case detail::CommandAssembler::Line::complete:
      command(command_->take(), bytes.substr(used));
      break;
  }
  return used;
}

void SieveServer::command(std::string_view line, std::string_view rest) {
  std::string_view verb = detail::first_word(line);
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  if (is("CAPABILITY")) {
    capabilities();
    return;
  }
  if (is("NOOP")) {
    send("OK \"NOOP completed\"\r\n");
    return;
  }
  if (is("LOGOUT")) {
    send("OK \"Logout completed\"\r\n");
    peer_left();
    return;
  }
  if (is("STARTTLS")) {
    accept_starttls(rest, "OK \"Begin TLS negotiation now\"\r\n",
                    "BYE \"command pipelined after STARTTLS; closing\"\r\n");
    return;
  }
  send(is("AUTHENTICATE") ? "NO (ENCRYPT-NEEDED) \"TLS is required: STARTTLS first\"\r\n"
                          : "NO \"STARTTLS, then AUTHENTICATE first\"\r\n");
  if (++errors_ > 20) {
    send("BYE \"too many errors\"\r\n");
    fail(errc::protocol_error, "sieve: the client made too many errors");
  }
}

// RFC 5804 §2.2: the server sends its capabilities again, then the
// application serves.
void SieveServer::on_tls() {
  capabilities();
  finish();
}

void SieveServer::on_end_of_input() { peer_left(); }

}  // namespace uptls::starttls
