// ManageSieve after STARTTLS: one script, `uptls`, for any user.

#include <string>
#include <utility>
#include <vector>

#include "ascii.hpp"
#include "sessions/session.hpp"
#include "starttls/command.hpp"
#include "starttls/literal.hpp"
#include "starttls/sasl.hpp"

namespace uptls::sessions {
namespace {

constexpr std::string_view script = "require \"fileinto\";\r\nkeep;\r\n";

class SieveSession final : public Session {
 public:
  SieveSession(const starttls::Learned& handed_over, Options options)
      : Session(handed_over, std::move(options)), command_(detail::max_unauthenticated_command) {}
  std::string_view protocol() const noexcept override { return "sieve"; }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
  void command(std::string_view line);
  bool script_command(const std::string& verb, const std::vector<std::string>& arguments);
  void authenticate(std::string_view response);

  detail::CommandAssembler command_;  // literals quoted in
  bool sasl_pending_ = false;
  bool authenticated_ = false;
  std::size_t errors_ = 0;
};

std::size_t SieveSession::on_receive(std::string_view bytes) {
  if (command_.in_literal()) return command_.add_literal(bytes);
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == starttls::Next::failed) send("BYE \"line too long\"\r\n");
    return used;
  }
  if (sasl_pending_) {
    sasl_pending_ = false;
    auto words = detail::tokens(*line);
    authenticate(words.empty() ? std::string_view() : std::string_view(words[0]));
    return used;
  }
  command_.limit(authenticated_ ? options_.max_message : detail::max_unauthenticated_command);
  bool synchronizing = false;
  switch (command_.add_line(*line, synchronizing)) {
    case detail::CommandAssembler::Line::too_large:
      send("BYE \"command too large\"\r\n");
      fail(errc::line_too_long, "sieve: the client sent a command larger than " +
                                    std::to_string(command_.limit()) + " bytes" +
                                    (authenticated_ ? "" : " before logging in"));
      break;
    case detail::CommandAssembler::Line::literal_follows:
      // RFC 5804 §4: clients send {n+}; a synchronizing literal needs no
      // go-ahead either.
      break;
    case detail::CommandAssembler::Line::complete:
      command(command_.take());
      break;
  }
  return used;
}

void SieveSession::command(std::string_view line) {
  auto words = detail::tokens(line);
  std::string verb;
  if (!words.empty()) {
    for (char c : words[0]) verb += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    words.erase(words.begin());
  }
  if (verb == "CAPABILITY") {
    std::string list;
    for (const std::string& capability :
         capabilities_before_tls(starttls::Protocol::sieve, options_)) {
      list += capability + "\r\n";
    }
    send(list + "\"VERSION\" \"1.0\"\r\nOK \"Capability completed\"\r\n");
  } else if (verb == "NOOP") {
    send("OK \"NOOP completed\"\r\n");
  } else if (verb == "LOGOUT") {
    send("OK \"Logout completed\"\r\n");
    finish();
  } else if (verb == "STARTTLS") {
    send(learned_.tls ? "NO \"TLS is already active\"\r\n"
                      : "NO \"this session went on in plaintext\"\r\n");
  } else if (verb == "AUTHENTICATE") {
    if (authenticated_) {
      send("NO \"already authenticated\"\r\n");
    } else if (words.empty() || !detail::iequals(words[0], "PLAIN")) {
      send("NO \"only PLAIN\"\r\n");
    } else if (words.size() > 1) {
      authenticate(words[1]);
    } else {
      sasl_pending_ = true;
      send("\"\"\r\n");
    }
  } else if (!authenticated_ || !script_command(verb, words)) {
    send(authenticated_ ? "NO \"unknown command\"\r\n" : "NO \"AUTHENTICATE first\"\r\n");
    if (++errors_ > 20) {
      send("BYE \"too many errors\"\r\n");
      fail(errc::protocol_error, "sieve: the client made too many errors");
    }
  }
}

void SieveSession::authenticate(std::string_view response) {
  auto user = detail::sasl_plain_user(response);
  if (!user) {
    send("NO \"not a PLAIN response\"\r\n");
    return;
  }
  authenticated_ = true;
  log("sieve login as " + *user);
  send("OK \"Authenticated\"\r\n");
}

bool SieveSession::script_command(const std::string& verb,
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
    log("sieve " + verb + " of " + std::to_string(size) + " bytes");
    send("OK \"" + verb + " completed (the script was discarded)\"\r\n");
  } else if (verb == "SETACTIVE" || verb == "DELETESCRIPT" || verb == "RENAMESCRIPT" ||
             verb == "HAVESPACE" || verb == "UNAUTHENTICATE") {
    send("OK \"" + verb + " completed\"\r\n");
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<starttls::Dialogue> sieve_session(const starttls::Learned& handed_over,
                                                  Options options) {
  return std::make_unique<SieveSession>(handed_over, std::move(options));
}

}  // namespace uptls::sessions
