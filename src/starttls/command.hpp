#pragma once
// Text commands of the line protocols: a verb, a space, an argument.

#include <initializer_list>
#include <string_view>
#include <utility>

#include "ascii.hpp"

namespace uptls::detail {

/// The text up to the first space.
inline std::string_view first_word(std::string_view text) { return text.substr(0, text.find(' ')); }

/// The verb and the argument after the first space (without it).
inline std::pair<std::string_view, std::string_view> split_command(std::string_view line) {
  std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return {line, {}};
  return {line.substr(0, space), line.substr(space + 1)};
}

inline bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

/// Whether the line's verb is one of verbs (case-insensitive).
inline bool verb_is_one_of(std::string_view line, std::initializer_list<std::string_view> verbs) {
  std::string_view verb = first_word(line);
  for (std::string_view candidate : verbs) {
    if (iequals(verb, candidate)) return true;
  }
  return false;
}

}  // namespace uptls::detail
