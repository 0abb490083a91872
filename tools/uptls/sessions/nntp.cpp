// NNTP after STARTTLS: one newsgroup, `uptls.test`, holding one article;
// posts accepted and discarded.

#include <ctime>
#include <string>

#include "ascii.hpp"
#include "sessions/mailbox.hpp"
#include "sessions/session.hpp"
#include "starttls/command.hpp"

namespace uptls::sessions {
namespace {

constexpr std::string_view group = "uptls.test";
constexpr std::string_view article_id = "<1@uptls.localhost>";

class NntpSession final : public Session {
 public:
  using Session::Session;
  std::string_view protocol() const noexcept override { return "nntp"; }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
  void command(std::string_view line);
  void post_line(std::string_view line);
  bool reading(std::string_view verb, std::string_view argument);
  void article(std::string_view verb, std::string_view argument);

  bool selected_ = false;
  bool posting_ = false;
  std::size_t article_bytes_ = 0;
  std::string user_;
  std::size_t errors_ = 0;
};

std::size_t NntpSession::on_receive(std::string_view bytes) {
  std::size_t used = 0;
  auto line = take_line(bytes, used);
  if (!line) {
    if (next() == starttls::Next::failed) send("501 line too long; closing\r\n");
  } else if (posting_) {
    post_line(*line);
  } else {
    command(*line);
  }
  return used;
}

void NntpSession::post_line(std::string_view line) {
  if (line != ".") {
    article_bytes_ += line.size() + 2;
    return;
  }
  posting_ = false;
  bool too_big = article_bytes_ > options_.max_message;
  if (!too_big) log("nntp article of " + std::to_string(article_bytes_) + " bytes, discarded");
  send(too_big ? "441 article too large\r\n" : "240 article received (discarded)\r\n");
}

void NntpSession::command(std::string_view line) {
  auto [verb, argument] = detail::split_command(line);
  auto is = [verb = verb](std::string_view name) { return detail::iequals(verb, name); };
  if (is("CAPABILITIES")) {
    std::string list = "101 Capability list:\r\nVERSION 2\r\n";
    for (const std::string& capability :
         capabilities_before_tls(starttls::Protocol::nntp, options_)) {
      list += capability + "\r\n";
    }
    send(list + "AUTHINFO USER\r\n.\r\n");
  } else if (is("STARTTLS")) {
    send(learned_.tls ? "502 TLS is already active\r\n"
                      : "502 this session went on in plaintext\r\n");
  } else if (is("QUIT")) {
    send("205 closing connection\r\n");
    finish();
  } else if (is("AUTHINFO")) {
    auto [kind, value] = detail::split_command(argument);
    if (detail::iequals(kind, "USER") && !value.empty()) {
      user_ = std::string(value);
      send("381 send AUTHINFO PASS\r\n");
    } else if (detail::iequals(kind, "PASS") && !user_.empty()) {
      log("nntp login as " + user_);
      send("281 authentication accepted\r\n");
    } else {
      send("482 AUTHINFO USER name, then AUTHINFO PASS password\r\n");
    }
  } else if (!reading(verb, argument)) {
    send("500 unknown command\r\n");
    if (++errors_ > 20) {
      send("400 too many errors; closing\r\n");
      fail(errc::protocol_error, "nntp: the client made too many errors");
    }
  }
}

bool NntpSession::reading(std::string_view verb, std::string_view argument) {
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  if (is("MODE")) {
    send("200 reader mode, posting ok\r\n");
  } else if (is("DATE")) {
    // RFC 3977 §7.1: the server's current time, in UTC.
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "111 %Y%m%d%H%M%S\r\n", &utc);
    send(text);
  } else if (is("LIST")) {
    send("215 list of newsgroups follows\r\n" + std::string(group) + " 1 1 n\r\n.\r\n");
  } else if (is("NEWGROUPS") || is("NEWNEWS")) {
    send(std::string(is("NEWGROUPS") ? "231" : "230") + " list follows\r\n.\r\n");
  } else if (is("GROUP")) {
    if (!detail::iequals(argument, group)) {
      send("411 no such newsgroup\r\n");
    } else {
      selected_ = true;
      send("211 1 1 1 " + std::string(group) + "\r\n");
    }
  } else if (is("ARTICLE") || is("HEAD") || is("BODY") || is("STAT")) {
    article(verb, argument);
  } else if (is("OVER") || is("XOVER")) {
    send(!selected_ ? std::string("412 no newsgroup selected\r\n")
                    : "224 overview follows\r\n1\tHello from uptls\tuptls <uptls@localhost>\t"
                      "Mon, 23 Nov 2026 00:00:00 +0000\t" +
                          std::string(article_id) + "\t\t" + std::to_string(sample_message.size()) +
                          "\t1\r\n.\r\n");
  } else if (is("POST")) {
    posting_ = true;
    article_bytes_ = 0;
    send("340 send the article; end with <CR-LF>.<CR-LF>\r\n");
  } else {
    return false;
  }
  return true;
}

void NntpSession::article(std::string_view verb, std::string_view argument) {
  auto is = [verb](std::string_view name) { return detail::iequals(verb, name); };
  std::string_view text = sample_message;
  std::size_t split = text.find("\r\n\r\n") + 4;
  std::string id(article_id);
  bool one = argument.empty() ? selected_ : (argument == "1" || argument == article_id);
  if (!one) {
    send(selected_ ? "423 no article with that number\r\n" : "412 no newsgroup selected\r\n");
  } else if (is("STAT")) {
    send("223 1 " + id + "\r\n");
  } else if (is("HEAD")) {
    send("221 1 " + id + "\r\n" + dot_stuffed(text.substr(0, split - 2)) + ".\r\n");
  } else if (is("BODY")) {
    send("222 1 " + id + "\r\n" + dot_stuffed(text.substr(split)) + ".\r\n");
  } else {
    send("220 1 " + id + "\r\n" + dot_stuffed(text) + ".\r\n");
  }
}

}  // namespace

std::unique_ptr<starttls::Dialogue> nntp_session(const starttls::Learned& handed_over,
                                                 Options options) {
  return std::make_unique<NntpSession>(handed_over, std::move(options));
}

}  // namespace uptls::sessions
