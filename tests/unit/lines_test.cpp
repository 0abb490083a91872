#include "uptls/lines.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace uptls {
namespace {

/// Feeds text one byte at a time, resuming each search where the last
/// stopped, as Stream does; returns the first result that is not need_more.
Match byte_by_byte_line(const std::string& text, std::size_t max_length) {
  Match match;
  for (std::size_t n = 1; n <= text.size(); ++n) {
    match = find_line(std::string_view(text).substr(0, n), max_length, match.resume);
    if (match.scan != Scan::need_more) return match;
  }
  return match;
}

TEST(FindLine, LfAndCrlfEndALine) {
  auto lf = find_line("PING\nrest", 100);
  EXPECT_EQ(lf.scan, Scan::found);
  EXPECT_EQ(lf.length, 4u);
  EXPECT_EQ(lf.consumed, 5u);
  auto crlf = find_line("PING\r\nrest", 100);
  EXPECT_EQ(crlf.length, 4u);
  EXPECT_EQ(crlf.consumed, 6u);
  auto empty = find_line("\r\n", 100);
  EXPECT_EQ(empty.scan, Scan::found);
  EXPECT_EQ(empty.length, 0u);
}

TEST(FindLine, NeedMoreUntilTheEndAndResumeWhereItStopped) {
  auto partial = find_line("PIN", 100);
  EXPECT_EQ(partial.scan, Scan::need_more);
  EXPECT_EQ(partial.resume, 3u);
  auto found = byte_by_byte_line("STARTTLS\r\n", 100);
  EXPECT_EQ(found.scan, Scan::found);
  EXPECT_EQ(found.length, 8u);
  EXPECT_EQ(found.consumed, 10u);
}

TEST(FindLine, TheLimitCountsTheLineNotItsTerminator) {
  EXPECT_EQ(byte_by_byte_line("0123456789\r\n", 10).scan, Scan::found);
  EXPECT_EQ(byte_by_byte_line("0123456789\n", 10).scan, Scan::found);
  EXPECT_EQ(byte_by_byte_line("0123456789A\n", 10).scan, Scan::too_long);
  // Too long is known before the line ends: memory stays bounded.
  EXPECT_EQ(find_line(std::string(12, 'x'), 10).scan, Scan::too_long);
  EXPECT_EQ(find_line(std::string(11, 'x'), 10).scan, Scan::need_more) << "its CR may follow";
}

TEST(FindLine, AnyLimitIsSafe) {
  constexpr auto huge = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(find_line("partial", huge).scan, Scan::need_more);
  EXPECT_EQ(find_line("whole\n", huge).scan, Scan::found);
  EXPECT_EQ(find_line("x", 0).scan, Scan::need_more);
  EXPECT_EQ(find_line("\n", 0).scan, Scan::found);
  EXPECT_EQ(find_line("xy", 0).scan, Scan::too_long);
}

TEST(FindDelimited, FindsTheRecordWithItsDelimiter) {
  auto head = find_delimited("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody", "\r\n\r\n", 100);
  EXPECT_EQ(head.scan, Scan::found);
  EXPECT_EQ(head.length, 27u);
  EXPECT_EQ(head.consumed, 27u);
}

TEST(FindDelimited, ADelimiterSplitAcrossReadsIsFound) {
  std::string text = "abc\r\n\r\nrest";
  Match match;
  std::size_t n = 1;
  for (; n <= text.size(); ++n) {
    match = find_delimited(std::string_view(text).substr(0, n), "\r\n\r\n", 100, match.resume);
    if (match.scan != Scan::need_more) break;
  }
  EXPECT_EQ(match.scan, Scan::found);
  EXPECT_EQ(n, 7u) << "found as soon as its last byte arrived";
  EXPECT_EQ(match.length, 7u);
}

TEST(FindDelimited, TheLimitIncludesTheDelimiter) {
  EXPECT_EQ(find_delimited("abcEND", "END", 6).scan, Scan::found);
  EXPECT_EQ(find_delimited("abcdEND", "END", 6).scan, Scan::too_long);
  EXPECT_EQ(find_delimited("abcdef", "END", 6).scan, Scan::too_long);
  EXPECT_EQ(find_delimited("abcde", "END", 6).scan, Scan::need_more);
  EXPECT_EQ(find_delimited("a", "END", std::numeric_limits<std::size_t>::max()).scan,
            Scan::need_more);
}

}  // namespace
}  // namespace uptls
