// HTTP after the RFC 2817 upgrade: a short `200 OK` to each request without
// a body.

#include <string>

#include "sessions/session.hpp"
#include "uptls/http.hpp"

namespace uptls::sessions {
namespace {

constexpr std::string_view bad_request =
    "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

class HttpSession final : public Session {
 public:
  using Session::Session;
  std::string_view protocol() const noexcept override { return "http-upgrade"; }

 private:
  std::size_t on_receive(std::string_view bytes) override;
  void on_end_of_input() override { finish(); }
};

std::size_t HttpSession::on_receive(std::string_view bytes) {
  http::Request request;
  http::Limits limits;
  limits.max_line = options_.max_line;
  http::Outcome outcome = http::parse_request(bytes, request, limits);
  if (outcome.parse == http::Parse::need_more) return 0;
  if (outcome.parse != http::Parse::done) {
    bool too_large = outcome.parse == http::Parse::too_large;
    send(too_large ? "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
                     "Content-Length: 0\r\n\r\n"
                   : bad_request);
    fail(too_large ? errc::line_too_long : errc::protocol_error,
         "http-upgrade: " + outcome.message);
    return 0;
  }
  http::Framing framing;
  try {
    framing = http::request_framing(request);
  } catch (const Error& e) {
    send(bad_request);
    fail(errc::protocol_error, std::string("http-upgrade: ") + e.what());
    return 0;
  }
  if (framing.kind != http::BodyKind::none) {
    send("HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    finish();
    return outcome.consumed;
  }
  std::string body =
      std::string("Hello from uptls ") + (learned_.tls ? "over TLS" : "in plaintext") + "\n";
  bool close = request.fields.has_token("Connection", "close") || request.minor_version == 0;
  send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
       std::to_string(body.size()) + (close ? "\r\nConnection: close" : "") + "\r\n\r\n" +
       (request.method == "HEAD" ? "" : body));
  log("http-upgrade request " + request.method + " " + request.target);
  if (close) finish();
  return outcome.consumed;
}

}  // namespace

std::unique_ptr<starttls::Dialogue> http_session(const starttls::Learned& handed_over,
                                                 Options options) {
  return std::make_unique<HttpSession>(handed_over, std::move(options));
}

}  // namespace uptls::sessions
