#include "starttls/http_upgrade.hpp"

#include "base64.hpp"
#include "printable.hpp"
#include "uptls/http.hpp"

namespace uptls::starttls {
namespace {

std::string status_line(const http::Response& response) {
  return "HTTP/1." + std::to_string(response.minor_version) + " " +
         std::to_string(response.status) + " " + response.reason;
}

http::Limits limits_of(std::size_t max_line) {
  http::Limits limits;
  limits.max_line = max_line;
  return limits;
}

}  // namespace

// ---- RFC 2817 client ------------------------------------------------------

HttpUpgradeClient::HttpUpgradeClient(ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line), options_(std::move(options)) {
  if (options_.server_name.empty()) options_.server_name = "localhost";
  send("OPTIONS * HTTP/1.1\r\nHost: " + options_.server_name +
       "\r\nUpgrade: TLS/1.0\r\nConnection: Upgrade\r\n\r\n");
}

std::string_view HttpUpgradeClient::protocol() const noexcept { return "http-upgrade"; }

std::size_t HttpUpgradeClient::on_receive(std::string_view bytes) {
  http::Response response;
  http::Outcome outcome = http::parse_response(bytes, response, limits_of(options_.max_line));
  if (outcome.parse == http::Parse::need_more) return 0;
  if (outcome.parse != http::Parse::done) {
    fail(errc::protocol_error, "http-upgrade: the server's answer is not HTTP: " + outcome.message +
                                   " (" + detail::printable(bytes) + ")");
    return 0;
  }
  if (response.status == 101 && response.fields.has_token("Upgrade", "TLS/1.0")) {
    upgrade();
  } else if (response.status == 101) {
    fail(errc::protocol_error, "http-upgrade: the server switched to another protocol: " +
                                   std::string(response.fields.find("Upgrade").value_or("")));
  } else {
    unavailable(options_.policy,
                "the server did not upgrade to TLS: " + detail::printable(status_line(response)));
  }
  return outcome.consumed;
}

void HttpUpgradeClient::on_tls() { finish(); }

// ---- RFC 2817 server ------------------------------------------------------

HttpUpgradeServer::HttpUpgradeServer(ServerDialogueOptions options)
    : Dialogue(Role::server, options.max_line), options_(std::move(options)) {}

std::string_view HttpUpgradeServer::protocol() const noexcept { return "http-upgrade"; }

std::size_t HttpUpgradeServer::on_receive(std::string_view bytes) {
  http::Request request;
  http::Outcome outcome = http::parse_request(bytes, request, limits_of(options_.max_line));
  if (outcome.parse == http::Parse::need_more) return 0;
  if (outcome.parse != http::Parse::done) {
    bool too_large = outcome.parse == http::Parse::too_large;
    send(too_large ? "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
                     "Content-Length: 0\r\n\r\n"
                   : "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    fail(too_large ? errc::line_too_long : errc::protocol_error,
         "http-upgrade: " + outcome.message);
    return 0;
  }
  std::string_view rest = bytes.substr(outcome.consumed);
  bool asks = request.fields.has_token("Upgrade", "TLS/1.0") &&
              request.fields.has_token("Connection", "upgrade");
  if (asks) {
    learned_.greeting = request.fields.find("Host").value_or("");
    accept_starttls(rest,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: TLS/1.0, HTTP/1.1\r\n"
                    "Connection: Upgrade\r\n\r\n",
                    "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    return outcome.consumed;
  }
  if (options_.policy == Policy::required) {
    std::string body = "TLS is required: ask for it with Upgrade: TLS/1.0 (RFC 2817)\n";
    send(
        "HTTP/1.1 426 Upgrade Required\r\nUpgrade: TLS/1.0, HTTP/1.1\r\n"
        "Connection: Upgrade, close\r\nContent-Type: text/plain\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
    fail(errc::protocol_error, "http-upgrade: the client sent " + request.method + " " +
                                   request.target + " without upgrading to TLS, which is required");
    return outcome.consumed;
  }
  // Plaintext was allowed: the application serves this request.
  finish();
  return 0;
}

// The requests over TLS are the application's.
void HttpUpgradeServer::on_tls() { finish(); }

void HttpUpgradeServer::on_end_of_input() { peer_left(); }

// ---- CONNECT through a proxy ----------------------------------------------

HttpConnectClient::HttpConnectClient(std::string authority, std::string basic_credentials,
                                     ClientDialogueOptions options)
    : Dialogue(Role::client, options.max_line) {
  std::string request = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (!basic_credentials.empty()) {
    request += "Proxy-Authorization: Basic " + detail::base64(basic_credentials) + "\r\n";
  }
  send(request + "\r\n");
}

std::string_view HttpConnectClient::protocol() const noexcept { return "http-connect"; }

std::size_t HttpConnectClient::on_receive(std::string_view bytes) {
  http::Response response;
  http::Outcome outcome = http::parse_response(bytes, response, limits_of(max_line_));
  if (outcome.parse == http::Parse::need_more) return 0;
  if (outcome.parse != http::Parse::done) {
    fail(errc::protocol_error, "http-connect: the proxy's answer is not HTTP: " + outcome.message +
                                   " (" + detail::printable(bytes) + ")");
    return 0;
  }
  if (response.status >= 200 && response.status < 300) {
    learned_.greeting = status_line(response);
    finish();
  } else {
    fail(errc::protocol_error,
         "http-connect: the proxy refused the tunnel: " + detail::printable(status_line(response)));
  }
  return outcome.consumed;
}

void HttpConnectClient::on_tls() { finish(); }

}  // namespace uptls::starttls
