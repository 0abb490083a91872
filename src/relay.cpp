#include "uptls/relay.hpp"

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

asio::awaitable<void> pump(Side from, Side to, std::uint64_t& moved, std::size_t buffer_size,
                           Shared& shared) {
  auto buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
  const char* doing = "reading ";
  const std::string* whom = &from.name;
  try {
    for (;;) {
      std::size_t n = co_await from.stream.read_some(asio::buffer(buffer.get(), buffer_size));
      if (n == 0) break;
      shared.last_activity = Clock::now();
      doing = "writing to ";
      whom = &to.name;
      co_await to.stream.write_all(asio::const_buffer(buffer.get(), n));
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

}  // namespace uptls
