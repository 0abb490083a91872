#pragma once
// An in-memory duplex connection for tests: two transports joined by two
// pipes, deterministic (bytes move only when a side reads), with faults to
// inject, in the way of Beast's test::stream and fail_count: fail the Nth
// operation, split every write into small pieces, stall a reader, reset.
// It says "try again" in std::errc spelling, as a user's transport may, so
// the tests also prove that Stream does not depend on Asio's.

#include <algorithm>
#include <array>
#include <asio/any_io_executor.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "uptls/transport.hpp"

namespace uptls::test {

/// The faults a memory link injects.
struct Faults {
  Faults() = default;
  /// Fails the Nth read or write attempt (from 1, both sides counted
  /// together) with error; 0 never.
  std::size_t fail_at = 0;
  /// The error of the failed attempt.
  std::error_code error = std::make_error_code(std::errc::connection_reset);
  /// At the Nth read or write attempt (counted as fail_at counts them), the
  /// client half-closes: the server reads an end, the client can no longer
  /// write (broken pipe) but still reads; 0 never.
  std::size_t half_close_at = 0;
  /// Each write attempt takes at most this many bytes (1: every write is
  /// split into single bytes).
  std::size_t max_write = std::numeric_limits<std::size_t>::max();
  /// Each read attempt returns at most this many bytes.
  std::size_t max_read = std::numeric_limits<std::size_t>::max();
  /// At most this many unread bytes wait in each direction; a writer past
  /// it waits for the reader (0: the reader has stalled, nothing goes in).
  std::size_t capacity = std::numeric_limits<std::size_t>::max();
};

/// The shared state of two memory transports: pipe[i] carries bytes to side i.
class MemoryLink {
 public:
  explicit MemoryLink(Faults injected) : faults(injected) {}

  struct Pipe {
    std::string data;
    bool fin = false;    // the sender shut down or closed: end of stream after data
    bool reset = false;  // the connection was reset
  };

  Faults faults;
  std::size_t operations = 0;
  std::array<Pipe, 2> pipe;
  std::array<std::optional<asio::steady_timer>, 2> readable;
  std::array<std::optional<asio::steady_timer>, 2> writable;
  std::array<bool, 2> open{true, true};

  /// Resets the connection: both sides' next operations fail with connection_reset.
  void reset() {
    for (int side = 0; side < 2; ++side) {
      pipe[side].reset = true;
      wake(side);
    }
  }

  /// Puts bytes in front of side's reader as if its peer had sent them.
  void inject(int side, std::string_view bytes) {
    pipe[side].data.append(bytes);
    wake(side);
  }

  /// Unread bytes on their way to side.
  std::size_t pending(int side) const { return pipe[side].data.size(); }

  /// Lets side's pending waits look again.
  void wake(int side) {
    if (readable[side]) readable[side]->cancel();
    if (writable[side]) writable[side]->cancel();
  }

  /// Counts an attempt; true when it is the one to fail. Half-closes the
  /// client's direction when its time has come.
  bool fail_now() {
    ++operations;
    if (operations == faults.half_close_at) {
      pipe[0].fin = true;
      wake(0);
    }
    return operations == faults.fail_at;
  }
};

/// One side of a memory link.
class MemoryTransport final : public Transport {
 public:
  MemoryTransport(std::shared_ptr<MemoryLink> link, int side, asio::any_io_executor executor)
      : link_(std::move(link)), side_(side), executor_(std::move(executor)) {
    link_->readable[side_].emplace(executor_);
    link_->writable[side_].emplace(executor_);
  }
  ~MemoryTransport() override { close(); }

  std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) noexcept override {
    if (refused(ec)) return 0;
    MemoryLink::Pipe& in = link_->pipe[side_];
    if (in.reset) {
      ec = std::make_error_code(std::errc::connection_reset);
      return 0;
    }
    if (in.data.empty()) {
      if (!in.fin) ec = std::make_error_code(std::errc::operation_would_block);
      return 0;
    }
    std::size_t n = std::min({buffer.size(), link_->faults.max_read, in.data.size()});
    in.data.copy(static_cast<char*>(buffer.data()), n);
    in.data.erase(0, n);
    link_->wake(1 - side_);  // room for the writer
    return n;
  }

  std::size_t write_some(asio::const_buffer buffer, std::error_code& ec) noexcept override {
    if (refused(ec)) return 0;
    MemoryLink::Pipe& out = link_->pipe[1 - side_];
    if (out.reset || !link_->open[1 - side_]) {
      ec = std::make_error_code(std::errc::connection_reset);
      return 0;
    }
    if (out.fin) {
      ec = std::make_error_code(std::errc::broken_pipe);
      return 0;
    }
    std::size_t room =
        link_->faults.capacity > out.data.size() ? link_->faults.capacity - out.data.size() : 0;
    if (room == 0) {
      ec = std::make_error_code(std::errc::operation_would_block);
      return 0;
    }
    std::size_t n = std::min({buffer.size(), link_->faults.max_write, room});
    out.data.append(static_cast<const char*>(buffer.data()), n);
    link_->wake(1 - side_);
    return n;
  }

  asio::awaitable<WaitResult> wait(Readiness direction) override {
    auto& timer = direction == Readiness::read ? *link_->readable[side_] : *link_->writable[side_];
    // cancel() ends every wait pending when it is called, each of them.
    const std::uint64_t cancels = cancels_;
    for (;;) {
      if (!link_->open[side_]) co_return WaitResult(asio::error::operation_aborted);
      if (ready(direction)) co_return WaitResult();
      timer.expires_at(asio::steady_timer::time_point::max());
      co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none || cancels_ != cancels) {
        co_return WaitResult(asio::error::operation_aborted);
      }
    }
  }

  void cancel() noexcept override {
    ++cancels_;
    link_->wake(side_);
  }

  void shutdown_send(std::error_code& ec) noexcept override {
    ec.clear();
    link_->pipe[1 - side_].fin = true;
    link_->wake(1 - side_);
  }

  void close() noexcept override {
    if (!link_->open[side_]) return;
    link_->open[side_] = false;
    // As TCP does: unread bytes make the close a reset, else the peer reads an end.
    if (!link_->pipe[side_].data.empty()) {
      link_->pipe[1 - side_].reset = true;
    } else {
      link_->pipe[1 - side_].fin = true;
    }
    link_->wake(side_);
    link_->wake(1 - side_);
  }

  bool is_open() const noexcept override { return link_->open[side_]; }

  executor_type get_executor() override { return executor_; }

  std::string peer() const override { return side_ == 0 ? "memory:client" : "memory:server"; }

 private:
  /// A closed side, or the attempt chosen to fail: sets ec.
  bool refused(std::error_code& ec) {
    ec.clear();
    if (!link_->open[side_]) {
      ec = asio::error::bad_descriptor;
    } else if (link_->fail_now()) {
      ec = link_->faults.error;
    }
    return static_cast<bool>(ec);
  }

  bool ready(Readiness direction) const {
    if (direction == Readiness::read) {
      const auto& in = link_->pipe[side_];
      return !in.data.empty() || in.fin || in.reset ||
             link_->faults.fail_at == link_->operations + 1;
    }
    const auto& out = link_->pipe[1 - side_];
    return out.reset || out.fin || !link_->open[1 - side_] ||
           out.data.size() < link_->faults.capacity ||
           link_->faults.fail_at == link_->operations + 1;
  }

  std::shared_ptr<MemoryLink> link_;
  int side_;
  std::uint64_t cancels_ = 0;  // how many times cancel() was called
  asio::any_io_executor executor_;
};

/// Two connected memory transports and their link.
struct MemoryPair {
  /// The server's end; it reads what the client writes.
  std::unique_ptr<Transport> server;
  /// The client's end.
  std::unique_ptr<Transport> client;
  /// The shared state: faults, reset(), inject(), pending().
  std::shared_ptr<MemoryLink> link;
  /// Sides in the link: what is on its way to the server or the client.
  static constexpr int to_server = 0;
  static constexpr int to_client = 1;
};

inline MemoryPair memory_pair(const asio::any_io_executor& executor, Faults faults = {}) {
  auto link = std::make_shared<MemoryLink>(faults);
  MemoryPair pair;
  pair.server = std::make_unique<MemoryTransport>(link, MemoryPair::to_server, executor);
  pair.client = std::make_unique<MemoryTransport>(link, MemoryPair::to_client, executor);
  pair.link = std::move(link);
  return pair;
}

/// Writes all of data straight to a transport (a test's raw side).
inline asio::awaitable<void> raw_write(Transport& transport, std::string data) {
  std::size_t done = 0;
  while (done < data.size()) {
    std::error_code ec;
    done += transport.write_some(asio::buffer(data) + done, ec);
    if (is_would_block(ec)) {
      co_await transport.wait(Readiness::write);
    } else if (ec) {
      throw std::system_error(ec, "raw_write");
    }
  }
}

/// Reads from a transport until the peer's end or an error; returns what arrived.
inline asio::awaitable<std::string> raw_read_to_end(Transport& transport) {
  std::string all;
  char chunk[4096];
  for (;;) {
    std::error_code ec;
    std::size_t n = transport.read_some(asio::buffer(chunk), ec);
    if (is_would_block(ec)) {
      auto [wait_ec] = co_await transport.wait(Readiness::read);
      if (wait_ec) co_return all;
      continue;
    }
    all.append(chunk, n);
    if (ec || n == 0) co_return all;
  }
}

/// Reads exactly n bytes straight from a transport (a test's raw side).
inline asio::awaitable<std::string> raw_read_exactly(Transport& transport, std::size_t n) {
  std::string all(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    std::error_code ec;
    done += transport.read_some(asio::buffer(all) + done, ec);
    if (is_would_block(ec)) {
      auto [wait_ec] = co_await transport.wait(Readiness::read);
      if (wait_ec) break;
    } else if (ec) {
      break;
    }
  }
  all.resize(done);
  co_return all;
}

}  // namespace uptls::test
