#include "starttls/ftp.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "uptls/connect.hpp"

namespace uptls::starttls {

// ---- client ---------------------------------------------------------------

FtpClient::FtpClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line),
      options_(std::move(options)),
      reader_(ReplyReader::Style::ftp, options_.max_reply_lines) {}

std::string_view FtpClient::protocol() const noexcept { return "ftp"; }

std::size_t FtpClient::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  if (auto reply = take_reply(bytes, used, reader_)) on_reply(std::move(*reply));
  return used;
}

void FtpClient::on_reply(Reply reply) {
  switch (state_) {
    case State::greeting:
      if (reply.code == 120) return;  // "ready in n minutes": the 220 follows
      if (reply.code != 220) {
        fail(errc::protocol_error, "ftp: the server refused the session: " + reply.quoted);
        return;
      }
      for (const auto& line : reply.lines) {
        if (!learned_.greeting.empty()) learned_.greeting += "\n";
        learned_.greeting += line;
      }
      send("AUTH TLS\r\n");
      state_ = State::auth;
      return;
    case State::auth:
      if (reply.code != 234) {
        unavailable(options_.policy, "the server refused AUTH TLS: " + reply.quoted);
        return;
      }
      upgrade();
      return;
    case State::pbsz:
    case State::prot:
      if (reply.code / 100 != 2) {
        fail(errc::protocol_error,
             std::string("ftp: the server refused to protect data connections (") +
                 (state_ == State::pbsz ? "PBSZ 0" : "PROT P") + "): " + reply.quoted);
        return;
      }
      if (state_ == State::pbsz) {
        send("PROT P\r\n");
        state_ = State::prot;
      } else {
        send("FEAT\r\n");
        state_ = State::feat;
      }
      return;
    case State::feat:
      if (reply.code == 211 && reply.lines.size() > 2) {
        for (std::size_t i = 1; i + 1 < reply.lines.size(); ++i) {
          std::string_view feature = reply.lines[i];
          feature.remove_prefix(std::min(feature.find_first_not_of(' '), feature.size()));
          learned_.capabilities.emplace_back(feature);
        }
      }
      finish();
      return;
  }
}

void FtpClient::on_tls() {
  send("PBSZ 0\r\n");
  state_ = State::pbsz;
}

// ---- server ---------------------------------------------------------------

// Everything but these needs TLS first (RFC 4217 §11: 530 to a login
// before AUTH TLS).
const FtpServer::Verb FtpServer::verbs[] = {
    {"AUTH", &FtpServer::auth}, {"FEAT", &FtpServer::feat}, {"QUIT", &FtpServer::quit},
    {"NOOP", &FtpServer::ok},   {"OPTS", &FtpServer::ok},   {"SYST", &FtpServer::syst},
};

FtpServer::FtpServer(ServerDialogueOptions options)
    : LineServer(std::move(options),
                 {"500 line too long; closing\r\n", "530 TLS is required: AUTH TLS first\r\n", "",
                  "421 too many errors; closing\r\n"},
                 verbs, Unlisted::need_tls) {
  send("220 " + (options_.greeting.empty() ? options_.host_name + " FTP" : options_.greeting) +
       "\r\n");
}

std::string_view FtpServer::protocol() const noexcept { return "ftp"; }

void FtpServer::auth(const Command& command) {
  const std::string_view argument = command.argument;
  if (!detail::iequals(argument, "TLS") && !detail::iequals(argument, "TLS-C") &&
      !detail::iequals(argument, "SSL")) {
    send("504 AUTH TLS only\r\n");
    return;
  }
  accept_starttls(command.rest, "234 AUTH TLS successful\r\n",
                  "421 command pipelined after AUTH TLS; closing\r\n");
}

void FtpServer::feat(const Command&) {
  std::string list = "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n";
  for (const std::string& feature : options_.capabilities) list += " " + feature + "\r\n";
  send(list + "211 End\r\n");
}

void FtpServer::quit(const Command&) {
  send("221 Goodbye\r\n");
  peer_left();
}

void FtpServer::ok(const Command& command) { send("200 " + std::string(command.verb) + " ok\r\n"); }

void FtpServer::syst(const Command&) { send("215 UNIX Type: L8\r\n"); }

// The login, PBSZ and PROT come over TLS, to the application.
void FtpServer::on_tls() { finish(); }

}  // namespace uptls::starttls
