#include "proxy_header.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "endpoint_text.hpp"
#include "uptls/error.hpp"

namespace uptls::detail {
namespace {

using proxy_protocol::Mode;
using Status = proxy_protocol::Parsed::Status;

[[noreturn]] void refuse(const std::string& message) {
  throw Error(make_error_code(errc::proxy_header), message);
}

asio::awaitable<Transport::WaitResult> ready() { co_return Transport::WaitResult{}; }

}  // namespace

ProxiedTransport::ProxiedTransport(std::unique_ptr<Transport> inner)
    : inner_(std::move(inner)), peer_(inner_->peer()) {}

asio::awaitable<bool> ProxiedTransport::read_header(const ServeOptions& options) {
  using namespace asio::experimental::awaitable_operators;
  auto remote = inner_->tcp_endpoint(false);
  bool trusted = remote && proxy_protocol::trusted(options.proxy_from, remote->address());
  bool required = options.accept_proxy == Mode::required;
  if (!trusted) {
    if (required) refuse("a connection from " + peer_ + ", which is not trusted to proxy");
    // Served as it is: its bytes are never taken for a header, so a client
    // cannot name another.
    co_return true;
  }
  asio::steady_timer deadline(co_await asio::this_coro::executor);
  deadline.expires_after(options.proxy_timeout);
  for (;;) {
    if (!read_available()) {
      if (pending_.empty()) co_return false;
      refuse("the connection from " + peer_ + " ended within its PROXY header");
    }
    proxy_protocol::Parsed parsed = proxy_protocol::parse(pending_);
    switch (parsed.status) {
      case Status::complete:
        take(std::move(parsed.header), parsed.size);
        co_return true;
      case Status::absent:
        if (required) refuse("the connection from " + peer_ + " did not begin with a PROXY header");
        co_return true;
      case Status::malformed:
        refuse("the connection from " + peer_ + " sent " + parsed.error);
      case Status::incomplete:
        break;
    }
    auto waited = co_await (inner_->wait(Readiness::read) ||
                            deadline.async_wait(asio::experimental::as_tuple(asio::use_awaitable)));
    if (waited.index() == 0) continue;
    if (pending_.empty() && !required) co_return true;
    throw Error(make_error_code(errc::idle_timeout),
                "no complete PROXY header from " + peer_ + " within " +
                    std::to_string(options.proxy_timeout.count()) + " ms");
  }
}

bool ProxiedTransport::read_available() {
  char chunk[2048];
  std::error_code ec;
  std::size_t n = inner_->read_some(asio::buffer(chunk), ec);
  if (ec && !is_would_block(ec)) throw std::system_error(ec, "reading the PROXY header");
  if (!ec && n == 0) return false;
  pending_.append(chunk, n);
  return true;
}

void ProxiedTransport::take(proxy_protocol::Header header, std::size_t size) {
  pending_.erase(0, size);
  if (!header.local) peer_ = endpoint_text(header.source);
  header_ = std::move(header);
}

std::size_t ProxiedTransport::read_some(asio::mutable_buffer buffer, std::error_code& ec) noexcept {
  if (read_ == pending_.size()) return inner_->read_some(buffer, ec);
  std::size_t n = std::min(buffer.size(), pending_.size() - read_);
  pending_.copy(static_cast<char*>(buffer.data()), n, read_);
  read_ += n;
  if (read_ == pending_.size()) {
    std::string().swap(pending_);
    read_ = 0;
  }
  ec.clear();
  return n;
}

std::size_t ProxiedTransport::write_some(asio::const_buffer buffer, std::error_code& ec) noexcept {
  return inner_->write_some(buffer, ec);
}

asio::awaitable<Transport::WaitResult> ProxiedTransport::wait(Readiness direction) {
  if (direction == Readiness::read && read_ < pending_.size()) return ready();
  return inner_->wait(direction);
}

void ProxiedTransport::cancel() noexcept { inner_->cancel(); }

void ProxiedTransport::shutdown_send(std::error_code& ec) noexcept { inner_->shutdown_send(ec); }

void ProxiedTransport::close() noexcept { inner_->close(); }

bool ProxiedTransport::is_open() const noexcept { return inner_->is_open(); }

Transport::executor_type ProxiedTransport::get_executor() { return inner_->get_executor(); }

std::string ProxiedTransport::peer() const { return peer_; }

int ProxiedTransport::native_socket() const noexcept { return inner_->native_socket(); }

// The local endpoint stays the socket's own: an FTP server listens for data
// connections there.
std::optional<asio::ip::tcp::endpoint> ProxiedTransport::tcp_endpoint(bool local) const {
  if (!local && header_ && !header_->local) return header_->source;
  return inner_->tcp_endpoint(local);
}

const proxy_protocol::Header* ProxiedTransport::proxy_header() const noexcept {
  return header_ ? &*header_ : nullptr;
}

}  // namespace uptls::detail
