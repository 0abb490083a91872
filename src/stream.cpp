// The stream: plaintext and TLS reads and writes, their deadlines, and
// the one pump (StreamState::drive) every operation runs on; the upgrade
// itself is in upgrade.cpp.
//
// Reads go through try_read (one non-blocking attempt, plain transport or
// TLS engine) and wait_ready (the transport's readiness wait, bounded by a
// deadline). The read buffer holds memory only while it holds bytes.

#include "uptls/stream.hpp"

#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <cstring>
#include <new>

#include "stream_state.hpp"
#include "system_error.hpp"
#include "uptls/error.hpp"
#include "uptls/lines.hpp"

namespace uptls {

namespace {

constexpr std::size_t read_chunk = 16 * 1024;

Error closed_error() {
  return Error(make_error_code(errc::stream_closed), "the stream is closed; open a new connection");
}

detail::StreamState& live(const std::shared_ptr<detail::StreamState>& state) {
  if (!state) throw closed_error();
  return *state;
}

}  // namespace

namespace detail {

Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  return timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
}

StreamState::~StreamState() {
  if (observer) observer->on_end(bytes_received, bytes_sent);
}

StreamState::StreamState(std::unique_ptr<Transport> t, Role r) : transport(std::move(t)), role(r) {
  if (!transport) {
    throw Error(make_error_code(errc::invalid_argument), "a Stream needs a transport");
  }
}

void StreamState::in_progress(const char* operation, const char* other) {
  throw Error(make_error_code(errc::operation_in_progress),
              std::string(operation) + ": " + other +
                  " is in progress on this stream (one read and one write at a time; start_tls "
                  "and close alone; abort() ends a stream from anywhere)");
}

StreamState::Claim StreamState::claim_read(const char* operation) {
  if (busy & exclusive) in_progress(operation, "start_tls or close");
  if (busy & reading) in_progress(operation, "another read");
  read_deadline = deadline_after(timeouts.idle);
  caller_deadline = false;
  return Claim(*this, reading);
}

void StreamState::shorten_read_deadline(Clock::time_point deadline) {
  if (deadline < read_deadline) {
    read_deadline = deadline;
    caller_deadline = true;
  }
}

StreamState::Claim StreamState::claim_write(const char* operation) {
  if (busy & exclusive) in_progress(operation, "start_tls or close");
  if (busy & writing) in_progress(operation, "another write");
  if (sending_ended) {
    throw Error(make_error_code(errc::stream_closed),
                std::string(operation) + ": this side's sending was ended by shutdown_send()");
  }
  return Claim(*this, writing);
}

StreamState::Claim StreamState::claim_all(const char* operation) {
  if (busy & exclusive) in_progress(operation, "start_tls or close");
  if (busy & reading) in_progress(operation, "a read");
  if (busy & writing) in_progress(operation, "a write");
  return Claim(*this, exclusive);
}

void StreamState::ensure_open() const {
  if (closed) throw closed_error();
}

void StreamState::abort(bool close_notify) noexcept {
  if (close_notify && engine && !closed) engine->notify_close();
  closed = true;
  transport->close();
  buffer.release();
}

asio::awaitable<void> StreamState::wait_readable(Want want) {
  auto per_wait = deadline_after(timeouts.read);
  if (read_deadline < per_wait) {
    co_await wait_ready(want, read_deadline, errc::idle_timeout);
  } else {
    co_await wait_ready(want, per_wait, errc::read_timeout);
  }
}

void StreamState::arm(std::size_t index, Clock::time_point deadline) {
  Deadline& d = deadlines[index];
  if (!d.timer) d.timer.emplace(transport->get_executor());
  d.timer->expires_at(deadline);
  d.fired = false;
  d.timer->async_wait(
      [weak = weak_from_this(), index, generation = ++d.generation](std::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || self->deadlines[index].generation != generation) return;
        self->deadlines[index].fired = true;
        self->transport->cancel();
      });
}

void StreamState::disarm(std::size_t index) {
  Deadline& d = deadlines[index];
  ++d.generation;
  if (d.timer) d.timer->cancel();
}

asio::awaitable<void> StreamState::wait_ready(Want want, Clock::time_point deadline,
                                              errc on_timeout) {
  auto direction = want == Want::write ? Readiness::write : Readiness::read;
  std::size_t index = want == Want::write ? 1 : 0;
  bool timed = deadline != Clock::time_point::max();
  if (timed) arm(index, deadline);
  std::error_code ec;
  for (;;) {
    std::tie(ec) = co_await transport->wait(direction);
    if (ec != asio::error::operation_aborted || closed) break;
    if (timed && deadlines[index].fired) {
      disarm(index);
      throw_timeout(on_timeout);
    }
    asio::cancellation_state cancelled = co_await asio::this_coro::cancellation_state;
    if (cancelled.cancelled() != asio::cancellation_type::none) break;
    // Neither ours nor the caller's: the other direction's deadline
    // cancelled the transport's waits. Wait again.
  }
  if (timed) disarm(index);
  if (closed) throw Error(make_error_code(errc::stream_closed), "the stream was closed");
  if (ec == asio::error::operation_aborted) {
    throw std::system_error(ec, "waiting for " + transport->peer() + " was cancelled");
  }
  if (ec) detail::throw_system_error(ec, "waiting for " + transport->peer());
}

void StreamState::throw_timeout(errc which) {
  std::string peer = transport->peer();
  auto ms = [](std::chrono::milliseconds t) { return std::to_string(t.count()) + " ms"; };
  switch (which) {
    case errc::handshake_timeout:
      throw Error(make_error_code(which), "TLS handshake with " + peer + " did not finish within " +
                                              ms(timeouts.handshake));
    case errc::write_timeout:
      throw Error(make_error_code(which),
                  peer + " took no data for " + ms(timeouts.write) + " (it stopped reading)");
    case errc::close_timeout:
      throw Error(make_error_code(which),
                  "no close_notify from " + peer + " within " + ms(timeouts.close));
    case errc::idle_timeout:
      if (caller_deadline) {
        throw Error(make_error_code(which),
                    peer +
                        " did not complete its command, reply or head by the deadline set for it "
                        "(idle timeout)");
      }
      throw Error(make_error_code(which), peer + " did not complete a line or record within " +
                                              ms(timeouts.idle) + " (idle timeout)");
    default:
      throw Error(make_error_code(which), "no data from " + peer + " within " + ms(timeouts.read));
  }
}

Step StreamState::try_read(char* data, std::size_t size) {
  if (engine) {
    Step step = engine->read(data, size);
    bytes_received += step.bytes;
    return step;
  }
  std::error_code ec;
  std::size_t n = transport->read_some(asio::buffer(data, size), ec);
  bytes_received += n;
  if (!ec) return {Want::nothing, n};
  if (is_would_block(ec)) return {Want::read, 0};
  detail::throw_system_error(ec, "reading from " + transport->peer());
}

Step StreamState::try_write(const char* data, std::size_t size) {
  if (engine) {
    Step step = engine->write(data, size);
    bytes_sent += step.bytes;
    return step;
  }
  std::error_code ec;
  std::size_t n = transport->write_some(asio::buffer(data, size), ec);
  bytes_sent += n;
  if (!ec) return {Want::nothing, n};
  if (is_would_block(ec)) return {Want::write, 0};
  detail::throw_system_error(ec, "writing to " + transport->peer());
}

asio::awaitable<std::size_t> StreamState::write_some(const char* data, std::size_t size) {
  ensure_open();
  try {
    // A write that needs no wait takes no pump frame and reads no clock.
    Step step = try_write(data, size);
    if (step.want != Want::nothing) {
      step = co_await drive([this, data, size] { return try_write(data, size); },
                            Bound::within(timeouts.write, errc::write_timeout));
    }
    co_return step.bytes;
  } catch (...) {
    // A TLS record half sent cannot be taken back or finished later.
    if (engine && engine->write_pending()) abort();
    throw;
  }
}

// Not coroutines: the pump's frame is the only one a waiting read holds.
asio::awaitable<Step> StreamState::read_raw(char* data, std::size_t size) {
  ensure_open();
  return drive([this, data, size] { return try_read(data, size); }, Bound::reads());
}

asio::awaitable<Step> StreamState::fill() {
  ensure_open();
  return drive(
      [this] {
        char* space = buffer.prepare(read_chunk);
        Step step = try_read(space, buffer.space());
        if (step.want == Want::nothing) buffer.commit(step.bytes);
        // Give the memory back while waiting: an idle connection holds no buffer.
        if (buffer.empty()) buffer.release();
        return step;
      },
      Bound::reads());
}

asio::awaitable<void> StreamState::shutdown_send() {
  Claim claim = claim_write("shutdown_send");
  ensure_open();
  if (engine) {
    co_await drive([this] { return engine->send_close_notify(); },
                   Bound::within(timeouts.write, errc::write_timeout));
  }
  std::error_code ec;
  transport->shutdown_send(ec);
  if (ec) detail::throw_system_error(ec, "ending the sending to " + transport->peer());
  sending_ended = true;
}

asio::awaitable<void> StreamState::close() {
  if (closed) co_return;
  Claim claim = claim_all("close");
  if (engine) {
    try {
      co_await drive([this] { return engine->shutdown(); },
                     Bound::within(timeouts.close, errc::close_timeout));
    } catch (const std::exception&) {
      // The peer vanished or stalled, or the close was cancelled: nothing
      // more is owed to it; the transport closes below.
    }
  }
  abort();
}

/// The loop of read_line and read_until: reads until search finds a
/// record at the start of the buffer, and takes it. Answers too_long at
/// the limit (the bytes stay buffered) and need_more at the peer's end.
template <typename Search>
asio::awaitable<std::pair<Scan, std::string>> StreamState::read_record(Search search) {
  std::size_t from = 0;
  for (;;) {
    Match match = search(buffer.view(), from);
    if (match.scan == Scan::found) {
      std::string record(buffer.view().substr(0, match.length));
      buffer.consume(match.consumed);
      co_return std::pair(Scan::found, std::move(record));
    }
    if (match.scan == Scan::too_long) co_return std::pair(Scan::too_long, std::string());
    from = match.resume;
    Step filled = co_await fill();
    if (filled.bytes == 0) co_return std::pair(Scan::need_more, std::string());
  }
}

asio::awaitable<std::optional<std::string>> StreamState::read_line(
    std::shared_ptr<StreamState> self, std::size_t max_length, Clock::time_point deadline) {
  Claim claim = live(self).claim_read("read_line");
  self->shorten_read_deadline(deadline);
  auto [scan, line] =
      co_await self->read_record([max_length](std::string_view data, std::size_t from) {
        return find_line(data, max_length, from);
      });
  if (scan == Scan::found) co_return std::move(line);
  const ReadBuffer& buffer = self->buffer;
  if (scan == Scan::too_long) {
    throw Error(make_error_code(errc::line_too_long),
                "line longer than " + std::to_string(max_length) +
                    " bytes; the bytes stay buffered (raise the limit or check the peer)");
  }
  if (buffer.empty()) co_return std::nullopt;
  throw Error(make_error_code(errc::unexpected_eof),
              "the peer closed the connection in the middle of a line (" +
                  std::to_string(buffer.size()) + " bytes without a line end)");
}

asio::awaitable<std::string> StreamState::read_until(std::shared_ptr<StreamState> self,
                                                     std::string delimiter,
                                                     std::size_t max_length) {
  if (delimiter.empty()) {
    throw Error(make_error_code(errc::invalid_argument), "read_until: empty delimiter");
  }
  Claim claim = live(self).claim_read("read_until");
  std::string_view wanted = delimiter;
  auto [scan, record] =
      co_await self->read_record([wanted, max_length](std::string_view data, std::size_t from) {
        return find_delimited(data, wanted, max_length, from);
      });
  if (scan == Scan::found) co_return std::move(record);
  const ReadBuffer& buffer = self->buffer;
  if (scan == Scan::too_long) {
    throw Error(make_error_code(errc::line_too_long),
                "no delimiter within " + std::to_string(max_length) +
                    " bytes; the bytes stay buffered (raise the limit or check the peer)");
  }
  throw Error(make_error_code(errc::unexpected_eof),
              "the peer closed the connection before the delimiter (" +
                  std::to_string(buffer.size()) + " bytes buffered)");
}

asio::awaitable<std::string> StreamState::read_exactly(std::size_t n) {
  Claim claim = claim_read("read_exactly");
  std::string out;
  while (out.size() < n) {
    if (!buffer.empty()) {
      std::size_t k = std::min(n - out.size(), buffer.size());
      out.append(buffer.view().substr(0, k));
      buffer.consume(k);
      continue;
    }
    // Memory grows with the data that arrives, not with what n promises:
    // at most twice what was read, and a chunk.
    std::size_t old = out.size();
    std::size_t room = std::min(n - old, std::max(read_chunk, old));
    out.resize(old + room);
    std::size_t got = 0;
    try {
      got = (co_await read_raw(out.data() + old, room)).bytes;
    } catch (...) {
      // What was read stays readable: a cancelled or timed-out read loses nothing.
      out.resize(old);
      restore(out);
      throw;
    }
    out.resize(old + got);
    if (got == 0) {
      throw Error(make_error_code(errc::unexpected_eof), "the peer closed the connection after " +
                                                             std::to_string(old) + " of " +
                                                             std::to_string(n) + " bytes");
    }
  }
  co_return out;
}

void StreamState::restore(const std::string& bytes) {
  if (bytes.empty() || closed) return;
  std::string rest = buffer.take_all();
  char* space = buffer.prepare(bytes.size() + rest.size());
  std::memcpy(space, bytes.data(), bytes.size());
  std::memcpy(space + bytes.size(), rest.data(), rest.size());
  buffer.commit(bytes.size() + rest.size());
}

asio::awaitable<std::size_t> StreamState::read_some(asio::mutable_buffer out) {
  Claim claim = claim_read("read_some");
  if (out.size() == 0) co_return 0;
  if (!buffer.empty()) co_return buffer.take(static_cast<char*>(out.data()), out.size());
  Step step = co_await read_raw(static_cast<char*>(out.data()), out.size());
  co_return step.bytes;
}

asio::awaitable<std::size_t> StreamState::write_all(asio::const_buffer data) {
  Claim claim = claim_write("write_all");
  const char* p = static_cast<const char*>(data.data());
  std::size_t left = data.size();
  try {
    while (left > 0) {
      std::size_t n = co_await write_some(p, left);
      p += n;
      left -= n;
    }
  } catch (...) {
    // Part of the message went out and the caller cannot know how much:
    // the peer would see a torn message, so the stream is not used again.
    if (left < data.size()) abort();
    throw;
  }
  co_return data.size();
}

template <typename T>
asio::awaitable<std::tuple<std::error_code, T>> StreamState::result_of(
    std::shared_ptr<StreamState> self, asio::awaitable<T> operation) {
  return detail::result_of(std::move(operation), [self](std::string message) {
    if (self) self->error_message = std::move(message);
  });
}

asio::awaitable<std::tuple<std::error_code>> StreamState::result_of(
    std::shared_ptr<StreamState> self, asio::awaitable<void> operation) {
  auto unit = [](asio::awaitable<void> op) -> asio::awaitable<bool> {
    co_await std::move(op);
    co_return true;
  };
  auto [ec, ignored] = co_await result_of(std::move(self), unit(std::move(operation)));
  co_return std::tuple<std::error_code>(ec);
}

}  // namespace detail

using detail::Clock;
using detail::Step;
using detail::StreamState;

namespace {

// Each public operation is a coroutine made at the call that holds the
// state for as long as it runs, so the Stream object may be moved or
// destroyed meanwhile. A moved-from stream has no state: its operations
// fail when awaited, as those of a closed stream do.

asio::awaitable<void> start_tls_on(std::shared_ptr<StreamState> self, CarryOver carry_over,
                                   StreamState::Upgrade given = {}) {
  co_await live(self).handshake(carry_over, std::move(given));
}

asio::awaitable<std::string> read_exactly_on(std::shared_ptr<StreamState> self, std::size_t n) {
  co_return co_await live(self).read_exactly(n);
}

asio::awaitable<std::size_t> read_some_on(std::shared_ptr<StreamState> self,
                                          asio::mutable_buffer buffer) {
  co_return co_await live(self).read_some(buffer);
}

asio::awaitable<bool> read_more_on(std::shared_ptr<StreamState> self, Clock::time_point deadline) {
  StreamState::Claim claim = live(self).claim_read("read_more");
  self->shorten_read_deadline(deadline);
  Step filled = co_await self->fill();
  co_return filled.bytes > 0;
}

asio::awaitable<std::size_t> write_all_on(std::shared_ptr<StreamState> self,
                                          asio::const_buffer data) {
  co_return co_await live(self).write_all(data);
}

asio::awaitable<void> write_all_void_on(std::shared_ptr<StreamState> self,
                                        asio::const_buffer data) {
  co_await live(self).write_all(data);
}

asio::awaitable<std::size_t> write_some_on(std::shared_ptr<StreamState> self,
                                           asio::const_buffer data) {
  if (data.size() == 0) co_return 0;
  StreamState::Claim claim = live(self).claim_write("write_some");
  co_return co_await self->write_some(static_cast<const char*>(data.data()), data.size());
}

asio::awaitable<void> shutdown_send_on(std::shared_ptr<StreamState> self) {
  co_await live(self).shutdown_send();
}

asio::awaitable<void> stop_tls_on(std::shared_ptr<StreamState> self) {
  co_await live(self).stop_tls();
}

asio::awaitable<void> close_on(std::shared_ptr<StreamState> self) {
  if (self) co_await self->close();
}

/// A line as read_line gives it, with the clean end as asio::error::eof.
asio::awaitable<std::string> line_or_eof(std::shared_ptr<StreamState> self,
                                         std::size_t max_length) {
  auto line = co_await StreamState::read_line(std::move(self), max_length);
  if (!line) throw std::system_error(asio::error::eof, "end of stream before a line");
  co_return std::move(*line);
}

/// Asio's algorithms (async_read, async_read_until) expect eof, not 0.
asio::awaitable<std::size_t> some_or_eof(std::shared_ptr<StreamState> self,
                                         asio::mutable_buffer buffer) {
  std::size_t n = co_await live(self).read_some(buffer);
  if (n == 0 && buffer.size() > 0) throw std::system_error(asio::error::eof, "end of stream");
  co_return n;
}

}  // namespace

Stream::Stream() noexcept = default;

namespace {

/// The transport of a stream that never connected: every attempt fails.
class Unconnected final : public Transport {
 public:
  Unconnected(asio::any_io_executor executor, std::string peer)
      : executor_(std::move(executor)), peer_(std::move(peer)) {}
  std::size_t read_some(asio::mutable_buffer, std::error_code& ec) noexcept override {
    ec = std::make_error_code(std::errc::not_connected);
    return 0;
  }
  std::size_t write_some(asio::const_buffer, std::error_code& ec) noexcept override {
    ec = std::make_error_code(std::errc::not_connected);
    return 0;
  }
  asio::awaitable<WaitResult> wait(Readiness) override {
    co_return WaitResult(asio::error::operation_aborted);
  }
  void cancel() noexcept override {}
  void shutdown_send(std::error_code& ec) noexcept override {
    ec = std::make_error_code(std::errc::not_connected);
  }
  void close() noexcept override {}
  bool is_open() const noexcept override { return false; }
  executor_type get_executor() override { return executor_; }
  std::string peer() const override { return peer_; }

 private:
  asio::any_io_executor executor_;
  std::string peer_;
};

}  // namespace

Stream detail::failed_stream(asio::any_io_executor executor, std::string peer,
                             std::string message) {
  Stream stream(std::make_unique<Unconnected>(std::move(executor), std::move(peer)), Role::client);
  stream.abort();
  stream.state_->error_message = std::move(message);
  return stream;
}

Stream::Stream(std::unique_ptr<Transport> transport, Role role)
    : state_(std::make_shared<StreamState>(std::move(transport), role)) {}

Stream::Stream(std::unique_ptr<Transport> transport,
               std::shared_ptr<const tls::ClientConfig> config, std::string server_name)
    : Stream(std::move(transport), Role::client) {
  state_->client_config = std::move(config);
  state_->server_name = std::move(server_name);
}

Stream::Stream(std::unique_ptr<Transport> transport,
               std::shared_ptr<const tls::ServerConfig> config)
    : Stream(std::move(transport), Role::server) {
  state_->server_config = std::move(config);
}

Stream::Stream(asio::ip::tcp::socket socket, Role role)
    : Stream(tcp_transport(std::move(socket)), role) {}

Stream::Stream(asio::ip::tcp::socket socket, std::shared_ptr<const tls::ClientConfig> config,
               std::string server_name)
    : Stream(tcp_transport(std::move(socket)), std::move(config), std::move(server_name)) {}

Stream::Stream(asio::ip::tcp::socket socket, std::shared_ptr<const tls::ServerConfig> config)
    : Stream(tcp_transport(std::move(socket)), std::move(config)) {}

Stream::Stream(Stream&&) noexcept = default;

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (state_ && !state_->closed) state_->abort();
    state_ = std::move(other.state_);
  }
  return *this;
}

Stream::~Stream() {
  if (state_ && !state_->closed) state_->abort();
}

asio::awaitable<void> Stream::start_tls(CarryOver carry_over) {
  return start_tls_on(state_, carry_over);
}

asio::awaitable<void> Stream::start_tls(std::shared_ptr<const tls::ClientConfig> config,
                                        std::string server_name, CarryOver carry_over) {
  StreamState::Upgrade given;
  given.client = std::move(config);
  given.name = std::move(server_name);
  given.for_role = Role::client;
  return start_tls_on(state_, carry_over, std::move(given));
}

asio::awaitable<void> Stream::start_tls(std::shared_ptr<const tls::ServerConfig> config,
                                        CarryOver carry_over) {
  return start_tls(std::move(config), std::string(), carry_over);
}

asio::awaitable<void> Stream::start_tls(std::shared_ptr<const tls::ServerConfig> config,
                                        std::string name_without_sni, CarryOver carry_over) {
  StreamState::Upgrade given;
  given.server = std::move(config);
  given.name = std::move(name_without_sni);
  given.for_role = Role::server;
  return start_tls_on(state_, carry_over, std::move(given));
}

asio::awaitable<std::size_t> Stream::read_some(asio::mutable_buffer buffer) {
  return read_some_on(state_, buffer);
}

asio::awaitable<std::optional<std::string>> Stream::read_line(std::size_t max_length) {
  return StreamState::read_line(state_, max_length);
}

asio::awaitable<std::optional<std::string>> Stream::read_line(
    std::size_t max_length, std::chrono::steady_clock::time_point deadline) {
  return StreamState::read_line(state_, max_length, deadline);
}

asio::awaitable<std::string> Stream::read_until(std::string_view delimiter,
                                                std::size_t max_length) {
  return StreamState::read_until(state_, std::string(delimiter), max_length);
}

asio::awaitable<std::string> Stream::read_exactly(std::size_t n) {
  return read_exactly_on(state_, n);
}

asio::awaitable<void> Stream::write_all(asio::const_buffer data) {
  return write_all_void_on(state_, data);
}

asio::awaitable<void> Stream::write_all(std::string_view text) {
  return write_all(asio::buffer(text));
}

asio::awaitable<void> Stream::close() { return close_on(state_); }

asio::awaitable<void> Stream::stop_tls() { return stop_tls_on(state_); }

asio::awaitable<void> Stream::shutdown_send() { return shutdown_send_on(state_); }

void Stream::abort() noexcept {
  if (state_) state_->abort();
}

asio::awaitable<Stream::Result> Stream::start_tls_result(CarryOver carry_over) {
  auto self = state_;
  return StreamState::result_of(self, start_tls_on(self, carry_over));
}

asio::awaitable<Stream::ResultOf<std::string>> Stream::read_line_result(std::size_t max_length) {
  auto self = state_;
  return StreamState::result_of(self, line_or_eof(self, max_length));
}

asio::awaitable<Stream::ResultOf<std::string>> Stream::read_until_result(std::string delimiter,
                                                                         std::size_t max_length) {
  auto self = state_;
  return StreamState::result_of(self,
                                StreamState::read_until(self, std::move(delimiter), max_length));
}

asio::awaitable<Stream::ResultOf<std::string>> Stream::read_exactly_result(std::size_t n) {
  auto self = state_;
  return StreamState::result_of(self, read_exactly_on(self, n));
}

asio::awaitable<Stream::ResultOf<std::size_t>> Stream::write_all_result(asio::const_buffer data) {
  auto self = state_;
  return StreamState::result_of(self, write_all_on(self, data));
}

asio::awaitable<Stream::Result> Stream::shutdown_send_result() {
  auto self = state_;
  return StreamState::result_of(self, shutdown_send_on(self));
}

asio::awaitable<Stream::Result> Stream::close_result() {
  auto self = state_;
  return StreamState::result_of(self, close_on(self));
}

asio::awaitable<Stream::ResultOf<std::size_t>> Stream::read_some_result(
    asio::mutable_buffer buffer) {
  auto self = state_;
  return StreamState::result_of(self, some_or_eof(self, buffer));
}

asio::awaitable<Stream::ResultOf<std::size_t>> Stream::write_some_result(
    asio::const_buffer buffer) {
  auto self = state_;
  return StreamState::result_of(self, write_some_on(self, buffer));
}

asio::awaitable<Stream::Result> Stream::result(asio::awaitable<void> operation) {
  return StreamState::result_of(state_, std::move(operation));
}

asio::awaitable<Stream::ResultOf<bool>> Stream::result(asio::awaitable<bool> operation) {
  return StreamState::result_of(state_, std::move(operation));
}

void detail::observe(Stream& stream, std::shared_ptr<StreamObserver> observer) {
  if (stream.state_) stream.state_->observer = std::move(observer);
}

void detail::set_error_message(Stream& stream, std::string message) {
  if (stream.state_) stream.state_->error_message = std::move(message);
}

const std::string& Stream::error_message() const noexcept {
  static const std::string none;
  return state_ ? state_->error_message : none;
}

bool Stream::is_tls() const noexcept { return state_ && state_->engine != nullptr; }

bool Stream::is_closed() const noexcept { return !state_ || state_->closed; }

Role Stream::role() const noexcept { return state_ ? state_->role : Role::client; }

bool Stream::upgradeable() const noexcept {
  return state_ && !is_tls() &&
         (state_->role == Role::server ? state_->server_config != nullptr
                                       : state_->client_config != nullptr);
}

std::shared_ptr<const tls::ClientConfig> Stream::client_config() const {
  return state_ ? state_->client_config : nullptr;
}

std::shared_ptr<const tls::ServerConfig> Stream::server_config() const {
  return state_ ? state_->server_config : nullptr;
}

std::string Stream::server_name() const { return state_ ? state_->server_name : std::string(); }

void Stream::set_session_tickets(std::size_t count) noexcept {
  if (state_) state_->session_tickets = static_cast<int>(std::min<std::size_t>(count, 16));
}

void Stream::resume_session_of(const Stream& other) {
  auto& self = live(state_);
  if (!other.is_tls() || other.role() != self.role) {
    throw Error(make_error_code(errc::invalid_argument),
                "resume_session_of: the other stream must be TLS, in this stream's role");
  }
  if (self.role == Role::client) {
    // A copy: a handshake updates the session it resumes, which must not
    // change the one the control connection and later streams offer.
    self.resume_session = other.state_->engine->session_copy();
  } else {
    self.required_origin = other.state_->engine->origin();
  }
}

std::optional<tls::CertificateInfo> Stream::peer_certificate() const {
  if (!is_tls()) return std::nullopt;
  return state_->engine->peer_certificate();
}

std::vector<tls::CertificateInfo> Stream::peer_chain() const {
  if (!is_tls()) return {};
  return state_->engine->peer_chain();
}

std::optional<tls::Verification> Stream::verification() const {
  if (!is_tls()) return std::nullopt;
  bool checked = state_->role == Role::client
                     ? state_->client_config && state_->client_config->verifies_peer()
                     : state_->engine->peer_certificate().has_value();
  return state_->engine->verification(checked);
}

std::optional<tls::SessionInfo> Stream::tls_info() const {
  if (!is_tls()) return std::nullopt;
  return state_->engine->session_info();
}

std::string Stream::peer() const { return state_ ? state_->transport->peer() : "closed stream"; }

namespace {

asio::ip::tcp::endpoint tcp_endpoint_of(const std::shared_ptr<StreamState>& state, bool local) {
  auto endpoint = state ? state->transport->tcp_endpoint(local) : std::nullopt;
  if (!endpoint) {
    throw std::system_error(std::make_error_code(std::errc::not_connected),
                            "the stream has no TCP endpoint (closed, or not TCP)");
  }
  return *endpoint;
}

}  // namespace

asio::ip::tcp::endpoint Stream::local_endpoint() const { return tcp_endpoint_of(state_, true); }

asio::ip::tcp::endpoint Stream::remote_endpoint() const { return tcp_endpoint_of(state_, false); }

std::string_view Stream::buffered_bytes() const noexcept {
  return state_ ? state_->buffer.view() : std::string_view();
}

asio::awaitable<bool> Stream::read_more() { return read_more_on(state_, Clock::time_point::max()); }

asio::awaitable<bool> Stream::read_more(std::chrono::steady_clock::time_point deadline) {
  return read_more_on(state_, deadline);
}

void Stream::consume(std::size_t n) noexcept {
  if (state_) state_->buffer.consume(std::min(n, state_->buffer.size()));
}

std::size_t Stream::buffered() const noexcept { return state_ ? state_->buffer.size() : 0; }

const Timeouts& Stream::timeouts() const noexcept {
  static const Timeouts defaults;
  return state_ ? state_->timeouts : defaults;
}

void Stream::set_timeouts(const Timeouts& timeouts) noexcept {
  if (state_) state_->timeouts = timeouts;
}

Stream::executor_type Stream::get_executor() const {
  return live(state_).transport->get_executor();
}

ssl_st* Stream::native_handle() const noexcept {
  return is_tls() ? state_->engine->ssl() : nullptr;
}

Transport& Stream::transport() const { return *live(state_).transport; }

Stream::AbortHandle Stream::abort_handle() const {
  AbortHandle handle;
  handle.state_ = state_;
  return handle;
}

void Stream::AbortHandle::abort() const { abort_on_executor(false); }

void Stream::AbortHandle::abort_with_close_notify() const { abort_on_executor(true); }

void Stream::AbortHandle::abort_on_executor(bool close_notify) const {
  auto state = state_.lock();
  if (!state) return;
  asio::dispatch(state->transport->get_executor(), [weak = state_, close_notify] {
    if (auto alive = weak.lock()) alive->abort(close_notify);
  });
}

}  // namespace uptls
