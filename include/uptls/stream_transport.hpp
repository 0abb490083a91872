#pragma once
/// @file
/// A Transport over any Asio stream (AsyncReadStream and AsyncWriteStream):
/// a uptls Stream that is already TLS (TLS inside TLS: a connection to an
/// origin through an HTTPS proxy), an `asio::ssl::stream`, or a stream of
/// your own.

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <algorithm>
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "uptls/transport.hpp"

namespace uptls {

namespace detail {

/// The state of a stream transport, shared with the completion handlers of
/// its reads and writes, so that a transport destroyed while one is in
/// flight leaves them nothing dangling.
template <typename AsyncStream>
struct StreamTransportState {
  StreamTransportState(AsyncStream s, std::string p, std::size_t size)
      : stream(std::move(s)),
        peer(std::move(p)),
        buffer_size(size),
        readable(stream.get_executor(), asio::steady_timer::time_point::max()),
        writable(stream.get_executor(), asio::steady_timer::time_point::max()) {}

  AsyncStream stream;
  std::string peer;
  std::size_t buffer_size;
  // What the last read brought, not taken yet: in[in_begin, in_end).
  std::vector<char> in;
  std::size_t in_begin = 0;
  std::size_t in_end = 0;
  bool reading = false;
  bool ended = false;
  std::error_code read_error;
  // What write_some accepted and the write in flight still sends.
  std::vector<char> out;
  bool writing = false;
  bool shutdown_wanted = false;
  std::error_code write_error;
  bool open = true;
  // Waits sleep on a timer that never expires; readiness cancels it.
  asio::steady_timer readable;
  asio::steady_timer writable;

  bool read_ready() const { return in_begin < in_end || ended || read_error || !open; }
  bool write_ready() const { return !writing || write_error || !open; }

  static void start_read(const std::shared_ptr<StreamTransportState>& self) {
    if (self->reading || self->ended || self->read_error || !self->open) return;
    self->reading = true;
    // Allocated once: the read below needs it whenever the stream waits.
    self->in.resize(self->buffer_size);
    self->stream.async_read_some(asio::buffer(self->in), [self](std::error_code ec, std::size_t n) {
      self->reading = false;
      if (ec == asio::error::eof || (!ec && n == 0)) {
        self->ended = true;
      } else if (ec) {
        self->read_error = ec;
      } else {
        self->in_begin = 0;
        self->in_end = n;
      }
      self->readable.cancel();
    });
  }

  static void start_write(const std::shared_ptr<StreamTransportState>& self) {
    self->writing = true;
    asio::async_write(self->stream, asio::buffer(self->out),
                      [self](std::error_code ec, std::size_t) {
                        self->writing = false;
                        self->out.clear();
                        if (ec) self->write_error = ec;
                        if (!ec && self->shutdown_wanted) shut_down(self);
                        self->writable.cancel();
                      });
  }

  // Ends the sending of the stream below as it knows how: a uptls Stream's
  // close_notify and half-close, an asio::ssl::stream's close_notify, a
  // socket's half-close.
  static void shut_down(const std::shared_ptr<StreamTransportState>& self) {
    self->shutdown_wanted = false;
    if constexpr (requires { self->stream.async_shutdown_send([](std::error_code) {}); }) {
      self->stream.async_shutdown_send([self](std::error_code ec) {
        if (ec) self->write_error = ec;
      });
    } else if constexpr (requires { self->stream.async_shutdown([](std::error_code) {}); }) {
      self->stream.async_shutdown([self](std::error_code ec) {
        if (ec) self->write_error = ec;
      });
    } else {
      std::error_code ec;
      self->stream.shutdown(asio::socket_base::shutdown_send, ec);
      if (ec) self->write_error = ec;
    }
  }

  void close_stream() {
    if constexpr (requires { stream.abort(); }) {
      stream.abort();
    } else if constexpr (requires { stream.lowest_layer().close(); }) {
      std::error_code ignored;
      stream.lowest_layer().close(ignored);
    } else {
      std::error_code ignored;
      stream.close(ignored);
    }
  }
};

template <typename AsyncStream>
class StreamTransport final : public Transport {
  using State = StreamTransportState<AsyncStream>;

 public:
  StreamTransport(AsyncStream stream, std::string peer, std::size_t buffer_size)
      : state_(std::make_shared<State>(std::move(stream), std::move(peer), buffer_size)) {}

  ~StreamTransport() override { close(); }

  std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) noexcept override {
    State& s = *state_;
    ec.clear();
    if (s.in_begin < s.in_end) {
      std::size_t n = std::min(buffer.size(), s.in_end - s.in_begin);
      std::memcpy(buffer.data(), s.in.data() + s.in_begin, n);
      s.in_begin += n;
      return n;
    }
    if (!s.open) {
      ec = asio::error::bad_descriptor;
    } else if (s.read_error) {
      ec = s.read_error;
    } else if (!s.ended) {
      ec = asio::error::would_block;
    }
    return 0;
  }

  std::size_t write_some(asio::const_buffer buffer, std::error_code& ec) noexcept override {
    State& s = *state_;
    ec.clear();
    if (!s.open) {
      ec = asio::error::bad_descriptor;
      return 0;
    }
    if (s.write_error) {
      ec = s.write_error;
      return 0;
    }
    if (s.writing || s.shutdown_wanted) {
      ec = asio::error::would_block;
      return 0;
    }
    std::size_t n = std::min(buffer.size(), s.buffer_size);
    const char* data = static_cast<const char*>(buffer.data());
    s.out.assign(data, data + n);
    State::start_write(state_);
    return n;
  }

  asio::awaitable<WaitResult> wait(Readiness direction) override {
    // The state, not this: the transport may go while a wait sleeps.
    std::shared_ptr<State> s = state_;
    bool reading = direction == Readiness::read;
    if (reading) State::start_read(s);
    auto ready = [&] { return reading ? s->read_ready() : s->write_ready(); };
    if (!ready()) {
      asio::steady_timer& timer = reading ? s->readable : s->writable;
      co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    if (!s->open || !ready()) co_return WaitResult(asio::error::operation_aborted);
    co_return WaitResult();
  }

  void cancel() noexcept override {
    state_->readable.cancel();
    state_->writable.cancel();
  }

  void shutdown_send(std::error_code& ec) noexcept override {
    State& s = *state_;
    ec = s.open ? s.write_error : std::error_code(asio::error::bad_descriptor);
    if (ec) return;
    // What write_some accepted goes first.
    if (s.writing) {
      s.shutdown_wanted = true;
    } else {
      State::shut_down(state_);
    }
  }

  void close() noexcept override {
    State& s = *state_;
    if (!s.open) return;
    s.open = false;
    s.close_stream();
    cancel();
  }

  bool is_open() const noexcept override { return state_->open; }

  executor_type get_executor() override { return state_->stream.get_executor(); }

  std::string peer() const override { return state_->peer; }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace detail

/// A transport over any Asio stream that has async_read_some and
/// async_write_some (asio::async_read and asio::async_write accept it), so
/// that a Stream runs over it: TLS over a uptls Stream that is TLS already
/// (an origin reached through an HTTPS proxy's CONNECT tunnel), over an
/// `asio::ssl::stream`, or over a stream of your own.
///
/// Unlike the socket transports, it keeps a buffer each way, allocated at
/// the first read and the first write: what the last read brought until the
/// Stream takes it (an Asio read needs its buffer while it waits), and one
/// write in flight (write_some accepts up to
/// buffer_size bytes and reports them written; the next waits until they
/// went). shutdown_send() ends the stream's sending as it knows how, after
/// the write in flight: `async_shutdown_send` (a uptls Stream: close_notify
/// then a half-close), `async_shutdown` (asio::ssl::stream), else
/// `shutdown(shutdown_send)`. close() aborts a uptls Stream, closes a
/// socket's lowest layer, or calls `close(ec)`.
///
/// @param stream the stream, moved in; its executor is the transport's.
/// @param peer how messages name the far end ("origin.example:443 via proxy").
/// @param buffer_size the most one read or one write moves.
template <typename AsyncStream>
std::unique_ptr<Transport> stream_transport(AsyncStream stream, std::string peer,
                                            std::size_t buffer_size = 16 * 1024) {
  return std::make_unique<detail::StreamTransport<AsyncStream>>(std::move(stream), std::move(peer),
                                                                buffer_size);
}

}  // namespace uptls
