#include "uptls/starttls/ftp.hpp"

#include "ascii.hpp"
#include "printable.hpp"
#include "starttls/command.hpp"
#include "starttls/mailbox.hpp"

namespace uptls::starttls {

// ---- client ---------------------------------------------------------------

FtpClient::FtpClient(ClientOptions options)
    : Dialogue(Side::client, options.max_line),
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

asio::awaitable<void> ftp_clear_command_channel(Stream& stream, std::size_t max_line) {
  co_await stream.write_all("CCC\r\n");
  ReplyReader reader(ReplyReader::Style::ftp);
  for (;;) {
    auto line = co_await stream.read_line(max_line);
    if (!line) {
      throw Error(make_error_code(errc::unexpected_eof),
                  "ftp: the server closed the connection after CCC");
    }
    auto status = reader.add(*line);
    if (status == ReplyReader::Status::malformed) {
      throw Error(make_error_code(errc::protocol_error), "ftp: the server sent " + reader.error());
    }
    if (status == ReplyReader::Status::complete) break;
  }
  Reply reply = reader.take();
  if (reply.code != 200) {
    throw Error(make_error_code(errc::protocol_error),
                "ftp: the server refused CCC: " + reply.quoted);
  }
  co_await stream.stop_tls();
}

// ---- server ---------------------------------------------------------------

FtpServer::FtpServer(ServerOptions options)
    : Dialogue(Side::server, options.max_line), options_(std::move(options)) {
  send("220 " + options_.host_name + " FTP uptls ready\r\n");
}

std::string_view FtpServer::protocol() const noexcept { return "ftp"; }

std::size_t FtpServer::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == Next::failed) send("500 line too long; closing\r\n");
    return used;
  }
  if (!learned_.tls && options_.policy == Policy::opportunistic && !options_.session &&
      detail::verb_is_one_of(*line, {"USER", "PASS", "ACCT"})) {
    // Plaintext was allowed: the application serves this command.
    finish();
    return 0;
  }
  command(*line, bytes.substr(used));
  return used;
}

void FtpServer::command(std::string_view line, std::string_view rest) {
  auto [verb_part, argument] = detail::split_command(line);
  std::string_view verb = verb_part;
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  bool tls = learned_.tls && !cleared_;
  constexpr std::string_view file = "hello.txt";
  if (is("AUTH")) {
    if (learned_.tls) {
      send("503 TLS is already active\r\n");
    } else if (!detail::iequals(argument, "TLS") && !detail::iequals(argument, "TLS-C") &&
               !detail::iequals(argument, "SSL")) {
      send("504 AUTH TLS only\r\n");
    } else {
      accept_starttls(rest, "234 AUTH TLS successful\r\n",
                      "421 command pipelined after AUTH TLS; closing\r\n");
    }
    return;
  }
  if (is("FEAT")) {
    send(
        "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n CCC\r\n SIZE\r\n MDTM\r\n UTF8\r\n"
        "211 End\r\n");
    return;
  }
  if (is("QUIT")) {
    send("221 Goodbye\r\n");
    finish();
    return;
  }
  if (is("NOOP")) {
    send("200 NOOP ok\r\n");
    return;
  }
  if (is("SYST")) {
    send("215 UNIX Type: L8\r\n");
    return;
  }
  if (is("OPTS")) {
    send("200 OPTS ok\r\n");
    return;
  }
  if (!learned_.tls && options_.policy == Policy::required) {
    send("530 TLS is required: AUTH TLS first\r\n");
  } else if (is("PBSZ")) {
    if (!tls) {
      send("503 PBSZ needs TLS\r\n");
    } else {
      protected_buffer_ = true;
      send("200 PBSZ=0\r\n");
    }
    return;
  } else if (is("PROT")) {
    if (!protected_buffer_) {
      send("503 PBSZ first\r\n");
    } else if (detail::iequals(argument, "P") || detail::iequals(argument, "C")) {
      send(std::string("200 PROT now ") + (detail::iequals(argument, "P") ? "Private" : "Clear") +
           "\r\n");
    } else {
      send("536 PROT P or C only\r\n");
    }
    return;
  } else if (is("CCC")) {
    if (!tls) {
      send("533 CCC needs TLS\r\n");
    } else {
      // RFC 4217 §6: the reply goes over TLS, then TLS ends.
      send("200 CCC command successful; the control connection is plaintext from now\r\n");
      cleared_ = true;
      if (options_.log) options_.log("ftp control connection back to plaintext (CCC)");
      clear();
    }
    return;
  } else if (is("USER")) {
    user_ = std::string(argument);
    logged_in_ = false;
    send("331 password, please\r\n");
    return;
  } else if (is("PASS")) {
    if (user_.empty()) {
      send("503 USER first\r\n");
    } else {
      logged_in_ = true;
      if (options_.log) options_.log("ftp login as " + user_);
      send("230 logged in\r\n");
    }
    return;
  } else if (!logged_in_) {
    send("530 log in first\r\n");
  } else if (is("PWD") || is("XPWD")) {
    send("257 \"/\" is the current directory\r\n");
    return;
  } else if (is("CWD") || is("CDUP")) {
    send(argument.empty() || argument == "/" || is("CDUP") ? "250 directory changed\r\n"
                                                           : "550 there is only /\r\n");
    return;
  } else if (is("TYPE") || is("MODE") || is("STRU")) {
    send("200 ok\r\n");
    return;
  } else if (is("SIZE") || is("MDTM")) {
    std::string_view name = argument;
    if (!name.empty() && name[0] == '/') name.remove_prefix(1);
    if (name != file) {
      send("550 there is only hello.txt\r\n");
    } else {
      send(is("SIZE") ? "213 " + std::to_string(detail::sample_message.size()) + "\r\n"
                      : std::string("213 20261123000000\r\n"));
    }
    return;
  } else if (is("REST")) {
    send("350 restarting at " + std::string(argument) + "\r\n");
    return;
  } else if (detail::verb_is_one_of(verb, {"PASV", "EPSV", "PORT", "EPRT", "LIST", "NLST", "MLSD",
                                           "RETR", "STOR", "APPE"})) {
    send("502 uptls serves the control connection only: no data connections\r\n");
    return;
  } else {
    send("502 command not implemented\r\n");
  }
  if (++errors_ > 20) {
    send("421 too many errors; closing\r\n");
    fail(errc::protocol_error, "ftp: the client made too many errors");
  }
}

void FtpServer::on_tls() {
  user_.clear();
  logged_in_ = false;
  if (!options_.session) finish();
}

void FtpServer::on_end_of_input() { finish(); }

}  // namespace uptls::starttls
