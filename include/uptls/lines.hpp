#pragma once
/// @file
/// Pure searches for lines and delimited records in buffered bytes: no I/O,
/// so protocol parsers can be tested byte by byte and fuzzed. Stream's
/// read_line and read_until are these searches with reads in between.

#include <cstddef>
#include <string_view>

#include "uptls/export.hpp"

namespace uptls {

/// What a search of buffered bytes found.
enum class Scan {
  /// A complete line or record is at the start of the bytes.
  found,
  /// None yet, and the limit allows more bytes: read more and search again.
  need_more,
  /// The line or record is, or will be, longer than the limit.
  too_long,
};

/// The result of find_line or find_delimited.
struct Match {
  /// What the search found.
  Scan scan = Scan::need_more;
  /// found: the length of the line without its terminator, or of the record
  /// with its delimiter.
  std::size_t length = 0;
  /// found: the bytes to consume (the line with its terminator).
  std::size_t consumed = 0;
  /// need_more: where the next search of the same bytes, grown, may start.
  std::size_t resume = 0;
};

/// Finds a line ended by LF or CRLF at the start of data.
/// @param data the bytes buffered so far.
/// @param max_length the longest line accepted, terminator excluded; any
///        value, SIZE_MAX included, is safe.
/// @param from where to start looking for the LF (a previous Match::resume).
UPTLS_API Match find_line(std::string_view data, std::size_t max_length,
                          std::size_t from = 0) noexcept;

/// Finds the first occurrence of delimiter and returns the record up to and
/// including it.
/// @param data the bytes buffered so far.
/// @param delimiter what ends a record; an empty one is found at once.
/// @param max_length the longest record accepted, delimiter included.
/// @param from where to start looking (a previous Match::resume).
UPTLS_API Match find_delimited(std::string_view data, std::string_view delimiter,
                               std::size_t max_length, std::size_t from = 0) noexcept;

}  // namespace uptls
