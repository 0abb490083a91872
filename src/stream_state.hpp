#pragma once
// The state behind a Stream, shared by the two halves of its
// implementation: stream.cpp (reads and writes, plaintext or TLS, their
// deadlines, and the one pump every operation runs on) and upgrade.cpp
// (start_tls and stop_tls). Internal.

#include <array>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "read_buffer.hpp"
#include "stream_observer.hpp"
#include "tls/engine.hpp"
#include "uptls/error.hpp"
#include "uptls/lines.hpp"
#include "uptls/stream.hpp"

namespace uptls::detail {

using Clock = std::chrono::steady_clock;
using tls::detail::Step;
using tls::detail::Want;

/// now + timeout; no deadline when timeout is 0.
Clock::time_point deadline_after(std::chrono::milliseconds timeout);

struct StreamState : std::enable_shared_from_this<StreamState> {
  StreamState(std::unique_ptr<Transport> t, Role r);
  ~StreamState();

  std::unique_ptr<Transport> transport;
  Role role;
  std::shared_ptr<const tls::ClientConfig> client_config;
  std::shared_ptr<const tls::ServerConfig> server_config;
  std::string server_name;
  Timeouts timeouts;
  ReadBuffer buffer;
  std::unique_ptr<tls::detail::Engine> engine;
  bool closed = false;
  // shutdown_send() ended this side's sending.
  bool sending_ended = false;
  // TLS 1.3 session tickets a server sends after the handshake; -1: OpenSSL's default.
  int session_tickets = -1;
  // resume_session_of(): the session a client offers, the origin a
  // server's handshake must resume.
  tls::detail::SessionPtr resume_session;
  std::string required_origin;
  std::string error_message;
  // A Server's statistics: told of each handshake, and of the bytes at the end.
  std::shared_ptr<StreamObserver> observer;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;

  // Which operations are running: one read and one write at a time, and
  // start_tls and close alone. A second one fails at once instead of
  // waiting unseen or stealing the first one's bytes.
  enum Busy : unsigned { reading = 1, writing = 2, exclusive = 4 };
  unsigned busy = 0;

  /// Holds a Busy bit for as long as an operation runs (also when it is
  /// cancelled or throws).
  class Claim {
   public:
    Claim(StreamState& state, unsigned bit) : state_(state), bit_(bit) { state_.busy |= bit_; }
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    ~Claim() { state_.busy &= ~bit_; }

   private:
    StreamState& state_;
    unsigned bit_;
  };

  Claim claim_read(const char* operation);
  Claim claim_write(const char* operation);
  Claim claim_all(const char* operation);

  /// A caller's deadline for the unit this read is part of, when it comes
  /// before the operation's own.
  void shorten_read_deadline(Clock::time_point deadline);

  // When the read operation running now must be done (Timeouts::idle), and
  // whether the caller's deadline for a whole unit set it (read_more).
  Clock::time_point read_deadline = Clock::time_point::max();
  bool caller_deadline = false;

  void ensure_open() const;

  /// Ends the stream at once. With close_notify, a TLS stream first sends
  /// its close_notify when that needs no wait.
  void abort(bool close_notify = false) noexcept;

  /// How long the pump may wait for the transport: until one deadline for
  /// the whole operation (on_timeout when it passes), or, for reads,
  /// Timeouts::read for each wait and the read deadline for the operation.
  struct Bound {
    Clock::time_point deadline = Clock::time_point::max();
    errc on_timeout = errc::read_timeout;
    bool reading = false;

    static Bound within(std::chrono::milliseconds timeout, errc on_timeout) {
      return {deadline_after(timeout), on_timeout, false};
    }
    static Bound until(Clock::time_point deadline, errc on_timeout) {
      return {deadline, on_timeout, false};
    }
    static Bound reads() { return {Clock::time_point::max(), errc::read_timeout, true}; }
  };

  /// The one pump: tries attempt (one non-blocking step of the transport or
  /// the engine) until it needs no wait, waiting for the transport in the
  /// direction it wants, within bound. Returns the last step.
  template <typename Attempt>
  asio::awaitable<Step> drive(Attempt attempt, Bound bound) {
    for (;;) {
      Step step = attempt();
      if (step.want == Want::nothing) co_return step;
      if (bound.reading) {
        co_await wait_readable(step.want);
      } else {
        co_await wait_ready(step.want, bound.deadline, bound.on_timeout);
      }
    }
  }

  /// Waits for data: bounded by Timeouts::read for this wait, and by
  /// Timeouts::idle for the whole operation, so a peer that trickles one
  /// byte at a time cannot hold a read open.
  asio::awaitable<void> wait_readable(Want want);
  /// Waits until the transport is ready in the wanted direction, or the
  /// deadline passes (then throws on_timeout).
  asio::awaitable<void> wait_ready(Want want, Clock::time_point deadline, errc on_timeout);
  [[noreturn]] void throw_timeout(errc which);

  // A deadline per direction: a timer that, when it fires, cancels the
  // transport's waits. Cheaper than racing each wait against a timer in a
  // parallel group (no coroutine or group state per wait), which matters
  // because every idle server connection waits under a deadline.
  struct Deadline {
    std::optional<asio::steady_timer> timer;
    std::uint64_t generation = 0;  // which wait the armed timer belongs to
    bool fired = false;
  };
  std::array<Deadline, 2> deadlines;
  void arm(std::size_t index, Clock::time_point deadline);
  void disarm(std::size_t index);

  /// One non-blocking read attempt; bytes == 0 with Want::nothing is a clean end.
  Step try_read(char* data, std::size_t size);
  Step try_write(const char* data, std::size_t size);

  /// Writes at least one byte of data, waiting for the transport as needed.
  asio::awaitable<std::size_t> write_some(const char* data, std::size_t size);
  /// Reads at least one byte into data; 0 bytes at a clean end.
  asio::awaitable<Step> read_raw(char* data, std::size_t size);
  /// Reads more into the buffer; 0 bytes at a clean end of stream.
  asio::awaitable<Step> fill();

  // The upgrade (upgrade.cpp).

  /// What start_tls is given besides the stored configuration.
  struct Upgrade {
    std::shared_ptr<const tls::ClientConfig> client;
    std::shared_ptr<const tls::ServerConfig> server;
    std::string name;
    // The role of the overload called, if it takes a configuration.
    std::optional<Role> for_role;
  };
  asio::awaitable<void> handshake(CarryOver carry_over, Upgrade given = {});
  /// Ends TLS, keeps the transport (FTP's CCC).
  asio::awaitable<void> stop_tls();

  /// Sends close_notify in TLS, then ends the transport's sending.
  asio::awaitable<void> shutdown_send();
  asio::awaitable<void> close();

  template <typename Search>
  asio::awaitable<std::pair<Scan, std::string>> read_record(Search search);
  // read_line and read_until hold the state themselves (no wrapper frame):
  // an idle connection waits in them, and every frame is memory it holds.
  static asio::awaitable<std::optional<std::string>> read_line(
      std::shared_ptr<StreamState> self, std::size_t max_length,
      Clock::time_point deadline = Clock::time_point::max());
  static asio::awaitable<std::string> read_until(std::shared_ptr<StreamState> self,
                                                 std::string delimiter, std::size_t max_length);
  asio::awaitable<std::string> read_exactly(std::size_t n);
  /// Puts bytes taken for a read that did not complete back in front.
  void restore(const std::string& bytes);
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer out);
  asio::awaitable<std::size_t> write_all(asio::const_buffer data);

  /// Runs a throwing operation and returns its error as a code instead,
  /// keeping the message for error_message().
  template <typename T>
  static asio::awaitable<std::tuple<std::error_code, T>> result_of(
      std::shared_ptr<StreamState> self, asio::awaitable<T> operation);
  static asio::awaitable<std::tuple<std::error_code>> result_of(std::shared_ptr<StreamState> self,
                                                                asio::awaitable<void> operation);

 private:
  [[noreturn]] static void in_progress(const char* operation, const char* other);
  std::string take_carried_over(CarryOver carry_over);
};

}  // namespace uptls::detail
