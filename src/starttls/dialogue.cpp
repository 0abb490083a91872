#include "uptls/starttls/dialogue.hpp"

#include <algorithm>
#include <chrono>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "starttls/literal.hpp"
#include "uptls/lines.hpp"
#include "uptls/printable.hpp"

namespace uptls::starttls {

Dialogue::Dialogue(Role role, std::size_t max_line) : max_line_(max_line), role_(role) {}

Dialogue::~Dialogue() = default;

std::size_t Dialogue::receive(std::string_view bytes) {
  std::size_t used = 0;
  while (next_ == Next::receive) {
    // A client's first command ends the greeting (Learned::raw_greeting).
    bool greeting = role_ == Role::client && !sent_;
    std::size_t n = on_receive(bytes.substr(used));
    if (greeting) learned_.raw_greeting.append(bytes.substr(used, n));
    if (n == 0) break;
    used += n;
  }
  if (next_ == Next::start_tls && role_ == Role::client && used < bytes.size()) {
    // DESIGN.md, the upgrade invariant: these bytes came in plaintext and
    // would be read as if they had come over TLS.
    std::string_view rest = bytes.substr(used);
    fail(errc::injected_plaintext,
         std::string(protocol()) + ": the server sent " + std::to_string(rest.size()) +
             " byte(s) after its go-ahead for STARTTLS, before the TLS handshake (" +
             detail::printable(rest) +
             "); refusing them (STARTTLS response injection). The connection was closed.");
  }
  return used;
}

void Dialogue::end_of_input() {
  if (next_ == Next::receive) on_end_of_input();
}

void Dialogue::on_end_of_input() {
  fail(errc::unexpected_eof, std::string(protocol()) + ": " + std::string(peer_name()) +
                                 " closed the connection" +
                                 (learned_.tls ? "" : " before TLS started"));
}

void Dialogue::tls_started() {
  learned_.tls = true;
  next_ = Next::receive;
  on_tls();
}

void Dialogue::tls_stopped() {
  if (next_ == Next::stop_tls) next_ = Next::receive;
}

std::string Dialogue::take_output() { return std::exchange(output_, std::string()); }

namespace {

/// The verb of a command line, or empty: the first word, or the second
/// after a tag (IMAP's "a1 STARTTLS"); only letters, so that no argument
/// (a credential) and no binary message is ever quoted.
std::string verb_of(std::string_view bytes) {
  std::string_view line = bytes.substr(0, bytes.find_first_of("\r\n"));
  auto letters = [](std::string_view word) {
    if (word.size() < 2 || word.size() > 16) return false;
    return std::all_of(word.begin(), word.end(),
                       [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
  };
  std::string_view first = detail::first_word(line);
  if (letters(first)) return std::string(first);
  if (first.size() == line.size()) return {};
  std::string_view second = detail::first_word(line.substr(first.size() + 1));
  return letters(second) ? std::string(second) : std::string();
}

std::string duration_text(std::chrono::milliseconds t) {
  if (t.count() % 1000 == 0) return std::to_string(t.count() / 1000) + " s";
  return std::to_string(t.count()) + " ms";
}

/// Reads more for the unit that must be complete by deadline; a timeout
/// names what the dialogue was waiting for.
asio::awaitable<bool> read_unit(Stream& stream, const Dialogue& dialogue,
                                std::chrono::steady_clock::time_point deadline,
                                std::chrono::milliseconds idle) {
  std::string timed_out;
  try {
    co_return co_await stream.read_more(deadline);
  } catch (const Error& e) {
    if (e.code() != errc::idle_timeout) throw;
    timed_out = std::string(dialogue.protocol()) + ": no " + dialogue.awaiting() + " within " +
                duration_text(idle) + " (idle timeout; " + stream.peer() + ")";
  }
  stream.abort();
  throw Error(make_error_code(errc::idle_timeout), timed_out);
}

}  // namespace

void Dialogue::send(std::string_view bytes) {
  output_.append(bytes);
  if (role_ == Role::client) {
    sent_ = true;
    last_verb_ = verb_of(bytes);
  }
}

std::string Dialogue::awaiting() const {
  if (role_ == Role::server) return "complete command from the client";
  if (!sent_) return "greeting from the server";
  if (last_verb_.empty()) return "reply from the server";
  return "reply to " + last_verb_ + " from the server";
}

void Dialogue::fail(errc code, std::string message) {
  next_ = Next::failed;
  error_ = make_error_code(code);
  error_message_ = std::move(message);
}

void Dialogue::unavailable(Policy policy, std::string reason) {
  if (policy == Policy::required) {
    fail(errc::starttls_unavailable,
         std::string(protocol()) + ": " + reason +
             "; TLS is required, so the session stops here (no plaintext fallback)");
    return;
  }
  learned_.plaintext_reason = std::move(reason);
  finish();
}

bool Dialogue::offers(Policy policy, const std::vector<std::string>& capabilities,
                      std::string_view name, std::string_view separator) {
  for (const auto& capability : capabilities) {
    if (detail::iequals(detail::first_word(capability), name)) return true;
  }
  std::string list;
  for (const auto& capability : capabilities) {
    if (!list.empty()) list += separator;
    list += capability;
  }
  if (list.size() > 300) list = list.substr(0, 300) + "...";
  unavailable(policy, "the server did not offer " + std::string(name) +
                          " (its capabilities: " + escape_nonprintable(list) + ")");
  return false;
}

void Dialogue::accept_starttls(std::string_view rest, std::string_view go_ahead,
                               std::string_view refusal) {
  if (!rest.empty()) {
    send(refusal);
    fail(errc::injected_plaintext,
         std::string(protocol()) + ": the client sent " + std::to_string(rest.size()) +
             " byte(s) after STARTTLS without waiting for the answer (" + detail::printable(rest) +
             "); refused, as they would be read as if they had come over TLS (STARTTLS command "
             "injection, CVE-2011-0411)");
    return;
  }
  send(go_ahead);
  upgrade();
}

std::optional<std::string_view> Dialogue::take_line(std::string_view bytes, std::size_t& consumed) {
  Match match = find_line(bytes, max_line_);
  if (match.scan == Scan::found) {
    consumed = match.consumed;
    return bytes.substr(0, match.length);
  }
  if (match.scan == Scan::too_long) {
    fail(errc::line_too_long, std::string(protocol()) + ": " + std::string(peer_name()) +
                                  " sent a line longer than " + std::to_string(max_line_) +
                                  " bytes (" + detail::printable(bytes) + ")");
  }
  consumed = 0;
  return std::nullopt;
}

std::optional<Reply> Dialogue::take_reply(std::string_view bytes, std::size_t& consumed,
                                          ReplyReader& reader) {
  auto line = take_line(bytes, consumed);
  if (!line) return std::nullopt;
  switch (reader.add(*line)) {
    case ReplyReader::Status::more:
      return std::nullopt;
    case ReplyReader::Status::complete:
      return reader.take();
    case ReplyReader::Status::malformed:
      fail(errc::protocol_error,
           std::string(protocol()) + ": " + std::string(peer_name()) + " sent " + reader.error());
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string_view> Dialogue::take_response_line(std::string_view bytes,
                                                             std::size_t& consumed,
                                                             LiteralState& literals,
                                                             std::size_t max_literal) {
  if (literals.due > 0) {
    consumed = detail::skip_literal(literals.due, bytes);
    return std::nullopt;
  }
  auto line = take_line(bytes, consumed);
  if (!line) return std::nullopt;
  switch (detail::read_response_line(*line, max_literal, literals.due, literals.continued)) {
    case detail::ResponseLine::too_large:
      fail(errc::protocol_error, std::string(protocol()) + ": " + std::string(peer_name()) +
                                     " announced a literal larger than " +
                                     std::to_string(max_literal) + " bytes (" +
                                     detail::printable(*line) + ")");
      return std::nullopt;
    case detail::ResponseLine::continues:
      return std::nullopt;
    case detail::ResponseLine::starts:
      return line;
  }
  return std::nullopt;
}

std::string_view Dialogue::peer_name() const noexcept {
  return role_ == Role::client ? "the server" : "the client";
}

asio::awaitable<Learned> run(Stream& stream, Dialogue& dialogue) {
  using Clock = std::chrono::steady_clock;
  auto idle = [&stream] {
    auto configured = stream.timeouts().idle;
    return configured.count() > 0 ? configured : default_idle_timeout;
  };
  // One deadline for each unit the peer sends, from when we last spoke: a
  // read does not restart it (a limit covers the whole unit it names).
  auto deadline = Clock::now() + idle();
  for (;;) {
    if (dialogue.has_output()) {
      std::string output = dialogue.take_output();
      co_await stream.write_all(output);
      deadline = Clock::now() + idle();
    }
    switch (dialogue.next()) {
      case Next::receive: {
        std::size_t used = dialogue.receive(stream.buffered_bytes());
        stream.consume(used);
        if (used > 0 || dialogue.next() != Next::receive) break;
        if (!co_await read_unit(stream, dialogue, deadline, idle())) dialogue.end_of_input();
        break;
      }
      case Next::start_tls:
        co_await stream.start_tls(dialogue.feeds_handshake() ? CarryOver::feed_handshake
                                                             : CarryOver::refuse);
        dialogue.tls_started();
        deadline = Clock::now() + idle();
        break;
      case Next::stop_tls:
        co_await stream.stop_tls();
        dialogue.tls_stopped();
        deadline = Clock::now() + idle();
        break;
      case Next::done:
        co_return dialogue.learned();
      case Next::failed:
        if (dialogue.role() == Role::server) {
          // The refusal goes out with a FIN, so that the client reads it.
          try {
            co_await stream.shutdown_send();
          } catch (const std::exception&) {
            // The client is gone already; it is closed below either way.
          }
        }
        stream.abort();
        throw Error(dialogue.error(), dialogue.error_message());
    }
  }
}

}  // namespace uptls::starttls
