#include "proxy/message.hpp"

#include <chrono>

#include "ascii.hpp"
#include "uptls/error.hpp"

namespace uptls::proxy {
namespace {

const char* reason_of(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 407:
      return "Proxy Authentication Required";
    case 431:
      return "Request Header Fields Too Large";
    case 502:
      return "Bad Gateway";
    default:
      return "Error";
  }
}

// The field that frames the body as the proxy copies it: its length, or
// the client's codings (validated to end in chunked) for a chunked body,
// which is copied chunk by chunk as it came; a Content-Length of 0 stays.
std::string framing_field(const http::Framing& body, const std::string& codings, bool had_length) {
  switch (body.kind) {
    case http::BodyKind::length:
      return "Content-Length: " + std::to_string(body.length) + "\r\n";
    case http::BodyKind::chunked:
      return "Transfer-Encoding: " + codings + "\r\n";
    default:
      return had_length ? "Content-Length: 0\r\n" : "";
  }
}

bool is_proxy_or_hop_field(const http::Fields& fields, const std::string& name) {
  return detail::iequals(name, "Host") || detail::iequals(name, "Content-Length") ||
         detail::iequals(name, "Proxy-Authorization") ||
         detail::iequals(name, "Proxy-Connection") || detail::iequals(name, "Keep-Alive") ||
         detail::iequals(name, "Connection") ||
         (!detail::iequals(name, "Upgrade") && fields.has_token("Connection", name));
}

}  // namespace

std::string make_response(int status, std::string_view body, bool close,
                          std::string_view extra_fields, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_fields;
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only) out += body;
  return out;
}

asio::awaitable<std::string> read_head(Stream& stream, const http::Limits& limits,
                                       bool skip_empty) {
  std::string head;
  std::size_t lines = 0;
  std::size_t skipped = 0;
  auto idle = stream.timeouts().idle;
  auto deadline = idle.count() > 0 ? std::chrono::steady_clock::now() + idle
                                   : std::chrono::steady_clock::time_point::max();
  for (;;) {
    std::optional<std::string> line = co_await stream.read_line(limits.max_line, deadline);
    if (!line) {
      if (head.empty()) co_return head;
      throw Error(errc::unexpected_eof, "the connection ended in the middle of a head");
    }
    if (head.empty() && line->empty() && skip_empty) {
      if (++skipped > 8) throw Error(errc::protocol_error, "empty lines instead of a request");
      continue;
    }
    head += *line;
    head += "\r\n";
    if (line->empty()) co_return head;
    if (head.size() > limits.max_head || ++lines > limits.max_fields + 1) {
      throw Error(errc::line_too_long, "the head is too large");
    }
  }
}

std::string origin_head(const http::Request& request, std::string_view path, std::string_view host,
                        const http::Framing& body) {
  std::string head = request.method;
  head += ' ';
  head += path;
  head += " HTTP/1." + std::to_string(request.minor_version) + "\r\n";
  head += "Host: ";
  head += host;
  head += "\r\n";
  const http::Fields& fields = request.fields;
  std::string codings;
  for (const auto& field : fields.list) {
    if (detail::iequals(field.name, "Transfer-Encoding")) {
      codings += (codings.empty() ? "" : ", ") + field.value;
    } else if (!is_proxy_or_hop_field(fields, field.name)) {
      head += field.name + ": " + field.value + "\r\n";
    }
  }
  head += framing_field(body, codings, fields.find("Content-Length").has_value());
  std::string options;
  if (fields.has_token("Connection", "close")) options = "close";
  if (fields.has_token("Connection", "upgrade") && fields.find("Upgrade")) {
    options += options.empty() ? "upgrade" : ", upgrade";
  }
  if (options.empty() && request.minor_version == 0 &&
      fields.has_token("Connection", "keep-alive")) {
    options = "keep-alive";
  }
  if (!options.empty()) head += "Connection: " + options + "\r\n";
  head += "\r\n";
  return head;
}

}  // namespace uptls::proxy
