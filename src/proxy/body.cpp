#include "proxy/body.hpp"

#include <cstring>
#include <memory>

#include "uptls/error.hpp"

namespace uptls::proxy {
namespace {

constexpr std::size_t body_buffer_size = 64 * 1024;
constexpr std::size_t max_prefix = 16 * 1024;

// One copy: a buffer with room in front of its data for the chunk lines
// that go out with it, and the write to the far end.
struct Copy {
  Ends ends;
  std::uint64_t& moved;
  bool& writing;
  std::unique_ptr<char[]> buffer =
      std::make_unique_for_overwrite<char[]>(body_buffer_size + max_prefix);
  char* data = buffer.get() + max_prefix;

  asio::awaitable<void> pass_on(const char* start, std::size_t n) {
    if (!ends.to) co_return;
    writing = true;
    co_await ends.to->write_all(asio::const_buffer(start, n));
    writing = false;
  }

  asio::awaitable<void> length(std::uint64_t length) {
    std::uint64_t remaining = length;
    while (remaining > 0) {
      std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining, body_buffer_size));
      std::size_t n = co_await ends.from.read_some(asio::buffer(data, want));
      if (n == 0) {
        throw Error(errc::unexpected_eof, "the body ended after " +
                                              std::to_string(length - remaining) + " of its " +
                                              std::to_string(length) + " bytes");
      }
      co_await pass_on(data, n);
      remaining -= n;
      moved += n;
    }
  }

  asio::awaitable<void> until_close() {
    for (;;) {
      std::size_t n = co_await ends.from.read_some(asio::buffer(data, body_buffer_size));
      if (n == 0) co_return;
      co_await pass_on(data, n);
      moved += n;
    }
  }

  // Chunk lines are read as lines and data with reads bounded by the chunk,
  // so no byte of what follows the body is taken from the stream. Lines
  // wait in front of the data and go out with it in one write.
  asio::awaitable<void> chunked(const http::Limits& limits) {
    http::ChunkedScanner scanner(limits);
    std::size_t prefix = 0;
    for (;;) {
      if (std::uint64_t remaining = scanner.data_remaining(); remaining > 0) {
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining, body_buffer_size));
        std::size_t n = co_await ends.from.read_some(asio::buffer(data, want));
        if (n == 0) throw Error(errc::unexpected_eof, "the chunked body ended inside a chunk");
        scanner.feed(std::string_view(data, n));
        co_await pass_on(data - prefix, prefix + n);
        prefix = 0;
        moved = scanner.payload();
        continue;
      }
      std::optional<std::string> line = co_await ends.from.read_line(limits.max_line);
      if (!line) throw Error(errc::unexpected_eof, "the chunked body ended before its last chunk");
      line->append("\r\n");
      http::Outcome outcome = scanner.feed(*line);
      if (outcome.parse == http::Parse::invalid || outcome.parse == http::Parse::too_large) {
        throw Error(errc::protocol_error, outcome.message);
      }
      if (prefix + line->size() > max_prefix) {
        co_await pass_on(data - prefix, prefix);
        prefix = 0;
      }
      if (line->size() > max_prefix) {
        co_await pass_on(line->data(), line->size());
      } else {
        // The waiting lines end where the data starts: move them forward.
        std::memmove(data - prefix - line->size(), data - prefix, prefix);
        std::memcpy(data - line->size(), line->data(), line->size());
        prefix += line->size();
      }
      if (outcome.parse == http::Parse::done) {
        co_await pass_on(data - prefix, prefix);
        co_return;
      }
    }
  }
};

}  // namespace

asio::awaitable<void> copy_body_between(Ends ends, const http::Framing& framing,
                                        const http::Limits& limits, std::uint64_t& moved,
                                        bool& writing) {
  Copy copy{ends, moved, writing};
  switch (framing.kind) {
    case http::BodyKind::none:
      co_return;
    case http::BodyKind::length:
      co_await copy.length(framing.length);
      co_return;
    case http::BodyKind::until_close:
      co_await copy.until_close();
      co_return;
    case http::BodyKind::chunked:
      co_await copy.chunked(limits);
      co_return;
  }
}

asio::awaitable<void> copy_body(Ends ends, const http::Framing& framing, const http::Limits& limits,
                                std::uint64_t& moved) {
  moved = 0;
  if (framing.kind == http::BodyKind::none) co_return;
  bool writing = false;
  std::string failure;
  std::error_code code;
  try {
    co_await copy_body_between(ends, framing, limits, moved, writing);
    co_return;
  } catch (const std::system_error& e) {
    code = e.code();
    failure = std::string(writing ? "writing to " : "reading ") +
              (writing ? ends.to_name : ends.from_name) + ": " + e.what();
  }
  throw Error(code, failure);
}

}  // namespace uptls::proxy
