#include "uptls/starttls/sieve.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "starttls/literal.hpp"
#include "starttls/sasl.hpp"

namespace uptls::starttls {
namespace {

constexpr std::size_t max_server_literal = 1024 * 1024;

constexpr std::string_view script = "require \"fileinto\";\r\nkeep;\r\n";

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
      command_(std::make_unique<detail::CommandAssembler>(options_.max_message)) {
  capabilities();
}

SieveServer::~SieveServer() = default;

std::string_view SieveServer::protocol() const noexcept { return "sieve"; }

void SieveServer::capabilities() {
  std::string sasl = learned_.tls || options_.policy == Policy::opportunistic ? "PLAIN" : "";
  send("\"IMPLEMENTATION\" \"uptls\"\r\n\"SIEVE\" \"fileinto\"\r\n\"SASL\" \"" + sasl + "\"\r\n");
  if (!learned_.tls) send("\"STARTTLS\"\r\n");
  send("\"VERSION\" \"1.0\"\r\nOK \"" + options_.host_name + " ManageSieve ready\"\r\n");
}

std::size_t SieveServer::on_receive(std::string_view bytes) {
  if (command_->in_literal()) return command_->add_literal(bytes);
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("BYE \"line too long\"\r\n");
    return used;
  }
  if (sasl_pending_) {
    sasl_pending_ = false;
    auto words = detail::tokens(*line);
    authenticate(words.empty() ? std::string_view() : std::string_view(words[0]));
    return used;
  }
  if (command_->empty() && !learned_.tls && options_.policy == Policy::opportunistic &&
      !options_.session && detail::verb_is_one_of(*line, {"AUTHENTICATE"})) {
    // Plaintext was allowed: the application serves this command.
    finish();
    return 0;
  }
  command_->limit(authenticated_ ? options_.max_message : detail::max_unauthenticated_command);
  bool synchronizing = false;
  switch (command_->add_line(*line, synchronizing)) {
    case detail::CommandAssembler::Line::too_large:
      send("BYE \"command too large\"\r\n");
      fail(errc::line_too_long, "sieve: the client sent a command larger than " +
                                    std::to_string(command_->limit()) + " bytes" +
                                    (authenticated_ ? "" : " before logging in"));
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
  auto words = detail::tokens(line);
  std::string verb;
  if (!words.empty()) {
    for (char c : words[0]) verb += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    words.erase(words.begin());
  }
  if (verb == "CAPABILITY") {
    capabilities();
    return;
  }
  if (verb == "NOOP") {
    send("OK \"NOOP completed\"\r\n");
    return;
  }
  if (verb == "LOGOUT") {
    send("OK \"Logout completed\"\r\n");
    finish();
    return;
  }
  if (verb == "STARTTLS") {
    if (learned_.tls) {
      send("NO \"TLS is already active\"\r\n");
    } else {
      accept_starttls(rest, "OK \"Begin TLS negotiation now\"\r\n",
                      "BYE \"command pipelined after STARTTLS; closing\"\r\n");
    }
    return;
  }
  if (verb == "AUTHENTICATE") {
    if (!learned_.tls && options_.policy == Policy::required) {
      send("NO (ENCRYPT-NEEDED) \"TLS is required: STARTTLS first\"\r\n");
    } else if (authenticated_) {
      send("NO \"already authenticated\"\r\n");
    } else if (words.empty() || !detail::iequals(words[0], "PLAIN")) {
      send("NO \"only PLAIN\"\r\n");
    } else if (words.size() > 1) {
      authenticate(words[1]);
    } else {
      sasl_pending_ = true;
      send("\"\"\r\n");
    }
    return;
  }
  if (authenticated_ && session_command(verb, words)) return;
  send(authenticated_ ? "NO \"unknown command\"\r\n" : "NO \"AUTHENTICATE first\"\r\n");
  if (++errors_ > 20) {
    send("BYE \"too many errors\"\r\n");
    fail(errc::protocol_error, "sieve: the client made too many errors");
  }
}

void SieveServer::authenticate(std::string_view response) {
  auto user = detail::sasl_plain_user(response);
  if (!user) {
    send("NO \"not a PLAIN response\"\r\n");
    return;
  }
  authenticated_ = true;
  if (options_.log) options_.log("sieve login as " + *user);
  send("OK \"Authenticated\"\r\n");
}

bool SieveServer::session_command(const std::string& verb,
                                  const std::vector<std::string>& arguments) {
  auto named = [&arguments] { return !arguments.empty() && arguments[0] == "uptls"; };
  if (verb == "LISTSCRIPTS") {
    send("\"uptls\" ACTIVE\r\nOK \"Listscripts completed\"\r\n");
  } else if (verb == "GETSCRIPT") {
    if (!named()) {
      send("NO (NONEXISTENT) \"there is only the script uptls\"\r\n");
    } else {
      std::string response = "{";
      response.append(std::to_string(script.size())).append("}\r\n").append(script);
      send(response.append("\r\nOK \"Getscript completed\"\r\n"));
    }
  } else if (verb == "PUTSCRIPT" || verb == "CHECKSCRIPT") {
    std::size_t size = arguments.empty() ? 0 : arguments.back().size();
    if (options_.log) options_.log("sieve " + verb + " of " + std::to_string(size) + " bytes");
    send("OK \"" + verb + " completed (the script was discarded)\"\r\n");
  } else if (verb == "SETACTIVE" || verb == "DELETESCRIPT" || verb == "RENAMESCRIPT" ||
             verb == "HAVESPACE" || verb == "UNAUTHENTICATE") {
    send("OK \"" + verb + " completed\"\r\n");
  } else {
    return false;
  }
  return true;
}

void SieveServer::on_tls() {
  // RFC 5804 §2.2: the server sends its capabilities again.
  authenticated_ = false;
  capabilities();
  if (!options_.session) finish();
}

void SieveServer::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
