// The stream: plaintext, the upgrade, and TLS, top to bottom.
//
// Reads go through try_read (one non-blocking attempt, plain socket or TLS
// engine) and wait_ready (an Asio readiness wait, bounded by a deadline).
// The read buffer holds memory only while it holds bytes.

#include "uptls/stream.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "endpoint_text.hpp"
#include "read_buffer.hpp"
#include "stream_access.hpp"
#include "system_error.hpp"
#include "tls/engine.hpp"
#include "uptls/error.hpp"

namespace uptls {

using tls::detail::Step;
using tls::detail::Want;
using Clock = std::chrono::steady_clock;
using detail::endpoint_text;

namespace {

constexpr std::size_t read_chunk = 16 * 1024;

Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  return timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
}

}  // namespace

struct Stream::Impl {
  Impl(asio::ip::tcp::socket s, Role r) : socket(std::move(s)), role(r) {
    socket.non_blocking(true);
    asio::error_code ignored;
    // Line protocols write small segments back to back (STARTTLS, then the
    // ClientHello); Nagle's algorithm would hold the second for an ACK.
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  }

  asio::ip::tcp::socket socket;
  Role role;
  std::shared_ptr<const tls::ClientConfig> client_config;
  std::shared_ptr<const tls::ServerConfig> server_config;
  std::string server_name;
  Timeouts timeouts;
  detail::ReadBuffer buffer;
  std::unique_ptr<tls::detail::Engine> engine;
  bool closed = false;

  void ensure_open() const {
    if (closed) throw Error(make_error_code(errc::stream_closed), "the stream is closed");
  }

  void abort() noexcept {
    closed = true;
    asio::error_code ignored;
    socket.close(ignored);
    buffer.release();
  }

  /// Waits until the socket is ready in the wanted direction, or the deadline passes.
  asio::awaitable<void> wait_ready(Want want, Clock::time_point deadline, errc on_timeout) {
    auto type = want == Want::write ? asio::socket_base::wait_write : asio::socket_base::wait_read;
    asio::error_code ec;
    if (deadline == Clock::time_point::max()) {
      std::tie(ec) =
          co_await socket.async_wait(type, asio::experimental::as_tuple(asio::use_awaitable));
    } else {
      asio::steady_timer timer(socket.get_executor(), deadline);
      auto [order, socket_ec, timer_ec] =
          co_await asio::experimental::make_parallel_group(
              socket.async_wait(type, asio::experimental::deferred),
              timer.async_wait(asio::experimental::deferred))
              .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
      if (order[0] == 1 && !timer_ec) throw_timeout(on_timeout);
      ec = socket_ec;
    }
    if (closed) throw Error(make_error_code(errc::stream_closed), "the stream was closed");
    if (ec) detail::throw_system_error(ec, "waiting for " + endpoint_text(socket));
  }

  [[noreturn]] void throw_timeout(errc which) {
    std::string peer = endpoint_text(socket);
    switch (which) {
      case errc::handshake_timeout:
        throw Error(make_error_code(which), "TLS handshake with " + peer +
                                                " did not finish within " +
                                                std::to_string(timeouts.handshake.count()) + " ms");
      default:
        throw Error(make_error_code(which), "no data from " + peer + " within " +
                                                std::to_string(timeouts.read.count()) + " ms");
    }
  }

  /// One non-blocking read attempt; bytes == 0 with Want::nothing is a clean end.
  Step try_read(char* data, std::size_t size) {
    if (engine) return engine->read(data, size);
    asio::error_code ec;
    std::size_t n = socket.read_some(asio::buffer(data, size), ec);
    if (!ec) return {Want::nothing, n};
    if (ec == asio::error::eof) return {Want::nothing, 0};
    if (ec == asio::error::would_block) return {Want::read, 0};
    detail::throw_system_error(ec, "reading from " + endpoint_text(socket));
  }

  Step try_write(const char* data, std::size_t size) {
    if (engine) return engine->write(data, size);
    asio::error_code ec;
    std::size_t n = socket.write_some(asio::buffer(data, size), ec);
    if (!ec) return {Want::nothing, n};
    if (ec == asio::error::would_block) return {Want::write, 0};
    detail::throw_system_error(ec, "writing to " + endpoint_text(socket));
  }

  /// Writes at least one byte of data, waiting for the socket as needed.
  asio::awaitable<std::size_t> write_some(const char* data, std::size_t size) {
    for (;;) {
      ensure_open();
      Step step = try_write(data, size);
      if (step.want == Want::nothing) co_return step.bytes;
      co_await wait_ready(step.want, Clock::time_point::max(), errc::read_timeout);
    }
  }

  asio::awaitable<std::size_t> read_raw(char* data, std::size_t size) {
    ensure_open();
    for (;;) {
      Step step = try_read(data, size);
      if (step.want == Want::nothing) co_return step.bytes;
      co_await wait_ready(step.want, deadline_after(timeouts.read), errc::read_timeout);
    }
  }

  /// Reads more into the buffer; false at a clean end of stream.
  asio::awaitable<bool> fill() {
    ensure_open();
    for (;;) {
      char* space = buffer.prepare(read_chunk);
      Step step = try_read(space, buffer.space());
      if (step.want == Want::nothing) {
        buffer.commit(step.bytes);
        if (buffer.empty()) buffer.release();
        co_return step.bytes > 0;
      }
      // Give the memory back while waiting: an idle connection holds no buffer.
      if (buffer.empty()) buffer.release();
      co_await wait_ready(step.want, deadline_after(timeouts.read), errc::read_timeout);
    }
  }

  void take_carried_over(CarryOver carry_over, std::string& carried) {
    if (role == Role::client && carry_over == CarryOver::feed_handshake) {
      throw Error(make_error_code(errc::invalid_argument),
                  "a client cannot feed carried-over bytes to the handshake: the server speaks "
                  "second in TLS");
    }
    bool feed = role == Role::server && carry_over != CarryOver::refuse;
    if (buffer.empty()) return;
    if (!feed) {
      std::size_t n = buffer.size();
      abort();
      // DESIGN.md, the upgrade invariant: bytes from the plaintext phase are
      // never delivered as application data after the upgrade.
      throw Error(make_error_code(errc::injected_plaintext),
                  std::to_string(n) + " plaintext byte(s) arrived before the TLS handshake " +
                      "began; refusing to carry them into TLS (STARTTLS injection?). The " +
                      "connection was closed.");
    }
    carried = buffer.take_all();
  }

  asio::awaitable<void> handshake(CarryOver carry_over) {
    ensure_open();
    if (engine)
      throw Error(make_error_code(errc::already_tls), "start_tls: the stream is already TLS");
    std::string carried;
    take_carried_over(carry_over, carried);
    try {
      if (role == Role::server) {
        if (!server_config)
          throw Error(make_error_code(errc::no_tls_config),
                      "start_tls: no server TLS configuration for this stream");
        engine = std::make_unique<tls::detail::Engine>(
            static_cast<SSL_CTX*>(server_config->native_handle()), true, socket.native_handle(),
            std::move(carried));
      } else {
        if (!client_config)
          throw Error(make_error_code(errc::no_tls_config),
                      "start_tls: no client TLS configuration for this stream");
        if (server_name.empty() && client_config->verifies_peer()) {
          throw Error(make_error_code(errc::invalid_argument),
                      "start_tls: a server name is needed to verify the server's certificate");
        }
        engine = std::make_unique<tls::detail::Engine>(
            static_cast<SSL_CTX*>(client_config->native_handle()), false, socket.native_handle(),
            std::string());
        engine->expect_server_name(server_name, client_config->verifies_peer(),
                                   server_name + "|" + endpoint_text(socket));
      }
      auto deadline = deadline_after(timeouts.handshake);
      for (;;) {
        Step step = engine->handshake();
        if (step.want == Want::nothing) break;
        co_await wait_ready(step.want, deadline, errc::handshake_timeout);
      }
    } catch (...) {
      // A failed handshake leaves nothing usable: neither TLS nor plaintext.
      engine.reset();
      abort();
      throw;
    }
  }
};

Stream::Stream(asio::ip::tcp::socket socket, Role role)
    : impl_(std::make_shared<Impl>(std::move(socket), role)) {}

Stream::Stream(asio::ip::tcp::socket socket, std::shared_ptr<const tls::ClientConfig> config,
               std::string server_name)
    : Stream(std::move(socket), Role::client) {
  impl_->client_config = std::move(config);
  impl_->server_name = std::move(server_name);
}

Stream::Stream(asio::ip::tcp::socket socket, std::shared_ptr<const tls::ServerConfig> config)
    : Stream(std::move(socket), Role::server) {
  impl_->server_config = std::move(config);
}

Stream::Stream(Stream&&) noexcept = default;

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (impl_ && !impl_->closed) impl_->abort();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Stream::~Stream() {
  if (impl_ && !impl_->closed) impl_->abort();
}

asio::awaitable<void> Stream::start_tls(CarryOver carry_over) {
  auto keep = impl_;
  co_await keep->handshake(carry_over);
}

asio::awaitable<void> Stream::start_tls(std::shared_ptr<const tls::ClientConfig> config,
                                        std::string server_name, CarryOver carry_over) {
  auto keep = impl_;
  if (keep->role != Role::client) {
    throw Error(make_error_code(errc::invalid_argument),
                "start_tls: a client configuration given to a server-role stream");
  }
  keep->client_config = std::move(config);
  if (!server_name.empty()) keep->server_name = std::move(server_name);
  co_await keep->handshake(carry_over);
}

asio::awaitable<void> Stream::start_tls(std::shared_ptr<const tls::ServerConfig> config,
                                        CarryOver carry_over) {
  auto keep = impl_;
  if (keep->role != Role::server) {
    throw Error(make_error_code(errc::invalid_argument),
                "start_tls: a server configuration given to a client-role stream");
  }
  keep->server_config = std::move(config);
  co_await keep->handshake(carry_over);
}

asio::awaitable<std::size_t> Stream::read_some(asio::mutable_buffer buffer) {
  auto keep = impl_;
  if (buffer.size() == 0) co_return 0;
  if (!keep->buffer.empty()) {
    co_return keep->buffer.take(static_cast<char*>(buffer.data()), buffer.size());
  }
  co_return co_await keep->read_raw(static_cast<char*>(buffer.data()), buffer.size());
}

asio::awaitable<std::optional<std::string>> Stream::read_line(std::size_t max_length) {
  auto keep = impl_;
  std::size_t scanned = 0;
  for (;;) {
    std::string_view data = keep->buffer.view();
    if (auto end = data.find('\n', scanned); end != std::string_view::npos) {
      std::size_t length = end > 0 && data[end - 1] == '\r' ? end - 1 : end;
      if (length > max_length) break;
      std::string line(data.substr(0, length));
      keep->buffer.consume(end + 1);
      co_return line;
    }
    scanned = data.size();
    // One byte of slack: a line of exactly max_length may still need its CR.
    if (data.size() > max_length + 1) break;
    if (!co_await keep->fill()) {
      if (keep->buffer.empty()) co_return std::nullopt;
      throw Error(make_error_code(errc::unexpected_eof),
                  "the peer closed the connection in the middle of a line (" +
                      std::to_string(keep->buffer.size()) + " bytes without a line end)");
    }
  }
  throw Error(make_error_code(errc::line_too_long),
              "line longer than " + std::to_string(max_length) +
                  " bytes; the bytes stay buffered (raise the limit or check the peer)");
}

asio::awaitable<std::string> Stream::read_until(std::string_view delimiter,
                                                std::size_t max_length) {
  auto keep = impl_;
  if (delimiter.empty()) {
    throw Error(make_error_code(errc::invalid_argument), "read_until: empty delimiter");
  }
  std::size_t scanned = 0;
  for (;;) {
    std::string_view data = keep->buffer.view();
    if (auto pos = data.find(delimiter, scanned); pos != std::string_view::npos) {
      std::size_t length = pos + delimiter.size();
      if (length > max_length) break;
      std::string record(data.substr(0, length));
      keep->buffer.consume(length);
      co_return record;
    }
    if (data.size() >= max_length) break;
    scanned = data.size() >= delimiter.size() ? data.size() - delimiter.size() + 1 : 0;
    if (!co_await keep->fill()) {
      throw Error(make_error_code(errc::unexpected_eof),
                  "the peer closed the connection before the delimiter (" +
                      std::to_string(keep->buffer.size()) + " bytes buffered)");
    }
  }
  throw Error(make_error_code(errc::line_too_long),
              "no delimiter within " + std::to_string(max_length) +
                  " bytes; the bytes stay buffered (raise the limit or check the peer)");
}

asio::awaitable<std::string> Stream::read_exactly(std::size_t n) {
  auto keep = impl_;
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    if (!keep->buffer.empty()) {
      std::size_t k = std::min(n - out.size(), keep->buffer.size());
      out.append(keep->buffer.view().substr(0, k));
      keep->buffer.consume(k);
      continue;
    }
    std::size_t old = out.size();
    out.resize(n);
    std::size_t got = co_await keep->read_raw(out.data() + old, n - old);
    out.resize(old + got);
    if (got == 0) {
      throw Error(make_error_code(errc::unexpected_eof), "the peer closed the connection after " +
                                                             std::to_string(old) + " of " +
                                                             std::to_string(n) + " bytes");
    }
  }
  co_return out;
}

asio::awaitable<void> Stream::write_all(asio::const_buffer data) {
  auto keep = impl_;
  const char* p = static_cast<const char*>(data.data());
  std::size_t left = data.size();
  while (left > 0) {
    std::size_t n = co_await keep->write_some(p, left);
    p += n;
    left -= n;
  }
}

asio::awaitable<std::pair<std::error_code, std::size_t>> Stream::read_some_result(
    asio::mutable_buffer buffer) {
  try {
    std::size_t n = co_await read_some(buffer);
    // Asio's algorithms (async_read, async_read_until) expect eof, not 0.
    if (n == 0 && buffer.size() > 0) co_return std::pair(asio::error_code(asio::error::eof), n);
    co_return std::pair(std::error_code(), n);
  } catch (const std::system_error& e) {
    co_return std::pair(e.code(), std::size_t{0});
  }
}

asio::awaitable<std::pair<std::error_code, std::size_t>> Stream::write_some_result(
    asio::const_buffer buffer) {
  auto keep = impl_;
  try {
    std::size_t n = buffer.size() ? co_await keep->write_some(
                                        static_cast<const char*>(buffer.data()), buffer.size())
                                  : 0;
    co_return std::pair(std::error_code(), n);
  } catch (const std::system_error& e) {
    co_return std::pair(e.code(), std::size_t{0});
  }
}

asio::awaitable<void> Stream::write_all(std::string_view text) {
  co_await write_all(asio::buffer(text));
}

asio::awaitable<void> Stream::close() {
  auto keep = impl_;
  if (!keep || keep->closed) co_return;
  if (keep->engine) {
    auto deadline = deadline_after(keep->timeouts.close);
    try {
      for (;;) {
        Step step = keep->engine->shutdown();
        if (step.want == Want::nothing) break;
        co_await keep->wait_ready(step.want, deadline, errc::read_timeout);
      }
    } catch (const std::exception&) {
      // The peer vanished or stalled: nothing more is owed to it; the socket closes below.
    }
  }
  keep->abort();
}

void Stream::abort() noexcept {
  if (impl_) impl_->abort();
}

bool Stream::is_tls() const noexcept { return impl_ && impl_->engine != nullptr; }

bool Stream::is_closed() const noexcept { return !impl_ || impl_->closed; }

Role Stream::role() const noexcept { return impl_->role; }

bool Stream::upgradeable() const noexcept {
  return !is_tls() && (impl_->role == Role::server ? impl_->server_config != nullptr
                                                   : impl_->client_config != nullptr);
}

std::optional<tls::CertificateInfo> Stream::peer_certificate() const {
  if (!is_tls()) return std::nullopt;
  X509* cert = SSL_get0_peer_certificate(impl_->engine->ssl());
  if (!cert) return std::nullopt;
  return tls::detail::describe(cert);
}

std::optional<tls::SessionInfo> Stream::tls_info() const {
  if (!is_tls()) return std::nullopt;
  return impl_->engine->session_info();
}

asio::ip::tcp::endpoint Stream::local_endpoint() const { return impl_->socket.local_endpoint(); }

asio::ip::tcp::endpoint Stream::remote_endpoint() const { return impl_->socket.remote_endpoint(); }

std::size_t Stream::buffered() const noexcept { return impl_ ? impl_->buffer.size() : 0; }

const Timeouts& Stream::timeouts() const noexcept { return impl_->timeouts; }

void Stream::set_timeouts(const Timeouts& timeouts) noexcept { impl_->timeouts = timeouts; }

Stream::executor_type Stream::get_executor() const { return impl_->socket.get_executor(); }

void* Stream::native_handle() const noexcept { return is_tls() ? impl_->engine->ssl() : nullptr; }

void detail::abort_stream(Stream::Impl& impl) noexcept { impl.abort(); }

}  // namespace uptls
