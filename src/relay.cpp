#include "uptls/relay.hpp"

#include <algorithm>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>

#include "uptls/error.hpp"

namespace uptls {
namespace {

using Clock = std::chrono::steady_clock;

struct Shared {
  Clock::time_point last_activity = Clock::now();
  bool timed_out = false;
  std::error_code error;
  std::string message;
};

struct Side {
  Stream& stream;
  const std::string& name;
};

// A direction's buffer: small while the direction is quiet, so that idle
// tunnels cost little; the full size while reads keep filling it (bulk).
class PumpBuffer {
 public:
  explicit PumpBuffer(std::size_t full) : full_(std::max(full, small_size)) {}

  /// Where the next read goes.
  asio::mutable_buffer next() {
    current_ = big_ ? big_.get() : small_;
    return asio::buffer(current_, big_ ? full_ : small_size);
  }

  /// Grows after a read that filled the small buffer, shrinks after a read
  /// that used less than a quarter of the big one.
  void filled(std::size_t n) {
    if (!big_ && n == small_size && full_ > small_size) {
      big_ = std::make_unique_for_overwrite<char[]>(full_);
    } else if (big_ && n < full_ / 4) {
      keep_ = std::move(big_);
    }
  }

  /// Releases a big buffer a shrinking read left, once its bytes are written.
  void written() { keep_.reset(); }

  /// What the last read filled.
  const char* data() const { return current_; }

 private:
  static constexpr std::size_t small_size = 2048;
  std::size_t full_;
  char small_[small_size];
  std::unique_ptr<char[]> big_;
  std::unique_ptr<char[]> keep_;
  char* current_ = small_;
};

asio::awaitable<void> pump(Side from, Side to, std::uint64_t& moved, std::size_t buffer_size,
                           Shared& shared) {
  PumpBuffer buffer(buffer_size);
  const char* doing = "reading ";
  const std::string* whom = &from.name;
  try {
    for (;;) {
      std::size_t n = co_await from.stream.read_some(buffer.next());
      if (n == 0) break;
      buffer.filled(n);
      shared.last_activity = Clock::now();
      doing = "writing to ";
      whom = &to.name;
      co_await to.stream.write_all(asio::const_buffer(buffer.data(), n));
      buffer.written();
      doing = "reading ";
      whom = &from.name;
      moved += n;
      shared.last_activity = Clock::now();
    }
    doing = "ending ";
    whom = &to.name;
    co_await to.stream.shutdown_send();
  } catch (const std::system_error& e) {
    if (!shared.error) {
      shared.error = e.code();
      shared.message = doing + *whom + ": " + e.what();
    }
    from.stream.abort();
    to.stream.abort();
  }
}

asio::awaitable<void> watch(Stream& a, Stream& b, std::chrono::milliseconds idle, Shared& shared) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto deadline = shared.last_activity + idle;
    if (Clock::now() >= deadline) {
      shared.timed_out = true;
      a.abort();
      b.abort();
      co_return;
    }
    timer.expires_at(deadline);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace

asio::awaitable<RelayResult> relay(Stream& a, Stream& b, RelayOptions options) {
  using namespace asio::experimental::awaitable_operators;
  const Timeouts saved_a = a.timeouts();
  const Timeouts saved_b = b.timeouts();
  for (Stream* stream : {&a, &b}) {
    Timeouts timeouts = stream->timeouts();
    timeouts.read = timeouts.idle = std::chrono::milliseconds(0);
    stream->set_timeouts(timeouts);
  }
  std::size_t buffer_size = options.buffer_size > 0 ? options.buffer_size : 1;
  RelayResult result;
  Shared shared;
  Side first{a, options.a_name};
  Side second{b, options.b_name};
  // Named, not temporaries in the co_await: GCC 12 mishandles those.
  auto both = pump(first, second, result.a_to_b, buffer_size, shared) &&
              pump(second, first, result.b_to_a, buffer_size, shared);
  if (options.idle.count() > 0) {
    auto bounded = std::move(both) || watch(a, b, options.idle, shared);
    co_await std::move(bounded);
  } else {
    co_await std::move(both);
  }
  a.set_timeouts(saved_a);
  b.set_timeouts(saved_b);
  if (shared.timed_out) {
    result.error = errc::idle_timeout;
    result.message = "no byte moved either way for " + std::to_string(options.idle.count()) +
                     " ms: the relay was ended";
  } else {
    result.error = shared.error;
    result.message = std::move(shared.message);
  }
  co_return result;
}

asio::awaitable<std::tuple<std::error_code, RelayResult>> detail::relay_result(
    Stream& a, Stream& b, RelayOptions options) {
  std::exception_ptr failure;
  try {
    RelayResult result = co_await relay(a, b, std::move(options));
    std::error_code code = result.error;
    co_return std::tuple<std::error_code, RelayResult>(code, std::move(result));
  } catch (...) {
    failure = std::current_exception();
  }
  RelayResult result;
  result.error = error_of(failure, result.message);
  co_return std::tuple<std::error_code, RelayResult>(result.error, std::move(result));
}

}  // namespace uptls
