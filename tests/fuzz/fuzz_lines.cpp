// libFuzzer target: the pure line and delimiter searches (uptls/lines.hpp).
// A decision taken on a prefix of the bytes (found, too long) must be the
// one taken on all of them, and a search resumed where the last stopped must
// agree with a search from the start: what read_line and read_until rely on
// when bytes arrive a few at a time.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "uptls/lines.hpp"

namespace {

using uptls::Match;
using uptls::Scan;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

bool same(const Match& a, const Match& b) {
  if (a.scan != b.scan) return false;
  return a.scan != Scan::found || (a.length == b.length && a.consumed == b.consumed);
}

/// Feeds data one prefix at a time, resuming each search where the last
/// stopped; checks each decision against a fresh search of the same prefix
/// and of everything.
template <typename Search>
void check_incremental(std::string_view data, Search search) {
  Match whole = search(data, 0);
  std::size_t resume = 0;
  for (std::size_t end = 0; end <= data.size(); ++end) {
    Match step = search(data.substr(0, end), resume);
    require(same(step, search(data.substr(0, end), 0)));
    if (step.scan != Scan::need_more) {
      require(same(step, whole));
      require(step.scan != Scan::found || step.consumed <= end);
      return;
    }
    require(step.resume <= end);
    resume = step.resume;
  }
  require(whole.scan == Scan::need_more);
}

/// find_line by its definition: the first LF ends the line, a CR before it
/// is not part of it.
void check_line_definition(std::string_view data, std::size_t max_length) {
  Match match = uptls::find_line(data, max_length);
  auto lf = data.find('\n');
  if (lf == std::string_view::npos) {
    // Too long exactly when no line within the limit can still come (a
    // line of max_length bytes may still need its CR and LF).
    bool hopeless = data.size() > max_length && data.size() - max_length >= 2;
    require(match.scan == (hopeless ? Scan::too_long : Scan::need_more));
    return;
  }
  std::size_t length = lf > 0 && data[lf - 1] == '\r' ? lf - 1 : lf;
  if (length > max_length) {
    require(match.scan == Scan::too_long);
  } else {
    require(match.scan == Scan::found && match.length == length && match.consumed == lf + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 2) return 0;
  // Byte 0: the limit (255: no limit); byte 1: the delimiter's length.
  std::size_t max_length = bytes[0] == 255 ? SIZE_MAX : bytes[0];
  std::size_t delimiter_size = bytes[1] % 5;
  std::string_view rest(reinterpret_cast<const char*>(bytes) + 2, size - 2);
  if (rest.size() > 4096) rest = rest.substr(0, 4096);
  std::string_view delimiter = rest.substr(0, std::min(delimiter_size, rest.size()));
  std::string_view data = rest.substr(delimiter.size());

  check_line_definition(data, max_length);
  check_incremental(data, [&](std::string_view d, std::size_t from) {
    return uptls::find_line(d, max_length, from);
  });
  check_incremental(data, [&](std::string_view d, std::size_t from) {
    return uptls::find_delimited(d, delimiter, max_length, from);
  });
  return 0;
}
