#include "starttls/list_client.hpp"

#include <algorithm>

#include "printable.hpp"

namespace uptls::starttls {

ListClient::ListClient(const ListProtocol& spec, ClientDialogueOptions options)
    : CapabilityClient(spec.words, std::move(options)), spec_(spec) {}

std::optional<CapabilityClient::Response> ListClient::read(std::string_view bytes,
                                                           std::size_t& used) {
  auto line = take_line(bytes, used);
  if (!line) return std::nullopt;
  if (list_) return on_list_line(*line);
  std::string quote = detail::printable(*line, 300);
  if (!spec_.is_reply(*line)) {
    fail(errc::protocol_error,
         std::string(spec_.words.name) + ": the server sent " + quote + " where a reply was due");
    return std::nullopt;
  }
  Response response{false, {}, {}, quote};
  switch (waiting_for()) {
    case Awaiting::greeting:
      response.positive = spec_.greeting_ok(*line);
      response.text = std::string(line->substr(std::min(spec_.text_offset, line->size())));
      break;
    case Awaiting::capabilities:
      response.positive = spec_.list_follows(*line);
      if (response.positive) {
        list_ = std::move(response);
        return std::nullopt;
      }
      break;
    case Awaiting::go_ahead:
      response.positive = spec_.go_ahead(*line);
      break;
  }
  return response;
}

std::optional<CapabilityClient::Response> ListClient::on_list_line(std::string_view line) {
  if (line == ".") {
    std::optional<Response> done = std::move(list_);
    list_.reset();
    return done;
  }
  if (list_->capabilities.size() >= options_.max_reply_lines) {
    fail(errc::protocol_error, std::string(spec_.words.name) +
                                   ": the server sent a capability list longer than " +
                                   std::to_string(options_.max_reply_lines) + " lines");
    return std::nullopt;
  }
  // A leading "." is doubled in a dot-terminated list.
  if (!line.empty() && line[0] == '.') line.remove_prefix(1);
  list_->capabilities.emplace_back(line);
  return std::nullopt;
}

}  // namespace uptls::starttls
