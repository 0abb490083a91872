#include "uptls/relay.hpp"

#include <algorithm>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>

#include "uptls/error.hpp"

#include <fcntl.h>
#include <unistd.h>

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

// A pipe for splice(2); closed when done.
class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~Pipe() {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  bool ok() const { return fds_[0] >= 0; }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }

 private:
  int fds_[2];
};

[[noreturn]] void throw_errno(int error) { throw std::system_error(error, std::system_category()); }

// Waits for readiness; a failed wait (an aborted stream) is an error.
asio::awaitable<void> wait_for(Transport& transport, Readiness direction) {
  auto [ec] = co_await transport.wait(direction);
  if (ec) throw std::system_error(ec);
}

// Waits for room to write, for at most `limit` (0: no limit).
asio::awaitable<void> wait_writable(Transport& transport, std::chrono::milliseconds limit) {
  using namespace asio::experimental::awaitable_operators;
  if (limit.count() == 0) {
    co_await wait_for(transport, Readiness::write);
    co_return;
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto waits = wait_for(transport, Readiness::write) || timer.async_wait(asio::use_awaitable);
  auto which = co_await std::move(waits);
  if (which.index() == 1) {
    throw Error(errc::write_timeout, transport.peer() + " took no data for " +
                                         std::to_string(limit.count()) +
                                         " ms (it stopped reading)");
  }
}

// The plaintext path: the kernel moves the bytes from one socket to the
// other through a pipe (splice), and they never reach user space.
asio::awaitable<void> splice_pump(Side from, Side to, Transport& in, Transport& out,
                                  std::uint64_t& moved, Shared& shared, const char*& doing,
                                  const std::string*& whom) {
  Pipe pipe;
  if (!pipe.ok()) throw_errno(errno);
  constexpr std::size_t chunk = 1 << 20;
  // A larger pipe moves more per call; the kernel may refuse, which is fine.
  ::fcntl(pipe.write_end(), F_SETPIPE_SZ, static_cast<int>(chunk));
  const std::chrono::milliseconds write_limit = to.stream.timeouts().write;
  for (;;) {
    doing = "reading ";
    whom = &from.name;
    ssize_t got = ::splice(in.descriptor(), nullptr, pipe.write_end(), nullptr, chunk,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) throw_errno(errno);
      co_await wait_for(in, Readiness::read);
      continue;
    }
    if (got == 0) co_return;
    shared.last_activity = Clock::now();
    doing = "writing to ";
    whom = &to.name;
    auto left = static_cast<std::size_t>(got);
    while (left > 0) {
      ssize_t sent = ::splice(pipe.read_end(), nullptr, out.descriptor(), nullptr, left,
                              SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (sent < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) throw_errno(errno);
        co_await wait_writable(out, write_limit);
        continue;
      }
      left -= static_cast<std::size_t>(sent);
      moved += static_cast<std::uint64_t>(sent);
      shared.last_activity = Clock::now();
    }
  }
}

asio::awaitable<void> pump(Side from, Side to, std::uint64_t& moved, std::size_t buffer_size,
                           Shared& shared) {
  PumpBuffer buffer(buffer_size);
  const char* doing = "reading ";
  const std::string* whom = &from.name;
  try {
    for (;;) {
      // Between plaintext sockets, once the stream's own buffer is empty,
      // the kernel does the copying.
      Transport* in = detail::plain_transport(from.stream, true);
      Transport* out = detail::plain_transport(to.stream, false);
      if (in && out && in->descriptor() >= 0 && out->descriptor() >= 0) {
        co_await splice_pump(from, to, *in, *out, moved, shared, doing, whom);
        break;
      }
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

}  // namespace uptls
