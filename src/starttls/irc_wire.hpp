#pragma once
// IRC's messages: the command and its parameters, shared by the dialogues and the sessions of uptls
// serve.

#include <algorithm>
#include <string_view>
#include "starttls/command.hpp"

namespace uptls::detail::irc {

/// A message's command and parameters, without its prefix (`:server`).
struct Message {
  std::string_view command;
  std::string_view parameters;
};

inline Message parse(std::string_view line) {
  if (!line.empty() && line[0] == '@')
    line.remove_prefix(std::min(line.find(' ') + 1, line.size()));
  if (!line.empty() && line[0] == ':')
    line.remove_prefix(std::min(line.find(' ') + 1, line.size()));
  auto [command, parameters] = detail::split_command(line);
  return {command, parameters};
}

/// The last parameter (after " :", or the last word).
inline std::string_view trailing(std::string_view parameters) {
  std::size_t colon = parameters.find(" :");
  if (colon != std::string_view::npos) return parameters.substr(colon + 2);
  if (!parameters.empty() && parameters[0] == ':') return parameters.substr(1);
  std::size_t space = parameters.rfind(' ');
  return space == std::string_view::npos ? parameters : parameters.substr(space + 1);
}

}  // namespace uptls::detail::irc
