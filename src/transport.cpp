// TCP and Unix domain socket transports: non-blocking send and recv on the
// descriptor, readiness waits through Asio.

#include "uptls/transport.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>

#include "endpoint_text.hpp"

#include <sys/socket.h>

namespace uptls {
namespace {

std::error_code last_socket_error() {
  int error = errno;
  if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) return asio::error::would_block;
  return {error, std::system_category()};
}

/// Both socket kinds are byte streams on a descriptor: one implementation.
template <typename Socket>
class SocketTransport final : public Transport {
 public:
  // The peer's text is kept from the start: messages about a connection
  // that failed must still name it after the socket is gone.
  explicit SocketTransport(Socket socket)
      : socket_(std::move(socket)), peer_(describe(socket_)), descriptor_(socket_.native_handle()) {
    socket_.non_blocking(true);
  }

  std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) noexcept override {
    ssize_t n = ::recv(socket_.native_handle(), buffer.data(), buffer.size(), 0);
    if (n >= 0) {
      ec.clear();
      return static_cast<std::size_t>(n);
    }
    ec = last_socket_error();
    return 0;
  }

  std::size_t write_some(asio::const_buffer buffer, std::error_code& ec) noexcept override {
    ssize_t n = ::send(socket_.native_handle(), buffer.data(), buffer.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      ec.clear();
      return static_cast<std::size_t>(n);
    }
    ec = last_socket_error();
    return 0;
  }

  asio::awaitable<WaitResult> wait(Readiness direction) override {
    auto type = direction == Readiness::write ? Socket::wait_write : Socket::wait_read;
    // Not a coroutine: an idle connection holds no frame of ours.
    return socket_.async_wait(type, asio::experimental::as_tuple(asio::use_awaitable));
  }

  void cancel() noexcept override {
    std::error_code ignored;
    socket_.cancel(ignored);
  }

  void shutdown_send(std::error_code& ec) noexcept override {
    socket_.shutdown(Socket::shutdown_send, ec);
  }

  void close() noexcept override {
    std::error_code ignored;
    socket_.close(ignored);
  }

  bool is_open() const noexcept override { return socket_.is_open(); }

  executor_type get_executor() override { return socket_.get_executor(); }

  std::string peer() const override { return peer_; }

  std::optional<asio::ip::tcp::endpoint> tcp_endpoint(bool local) const override;

  int native_socket() const noexcept override { return socket_.is_open() ? descriptor_ : -1; }

 private:
  static std::string describe(const Socket& socket);

  Socket socket_;
  std::string peer_;
  int descriptor_;
};

template <>
std::string SocketTransport<asio::ip::tcp::socket>::describe(const asio::ip::tcp::socket& socket) {
  return detail::endpoint_text(socket);
}

template <>
std::optional<asio::ip::tcp::endpoint> SocketTransport<asio::ip::tcp::socket>::tcp_endpoint(
    bool local) const {
  std::error_code ec;
  auto endpoint = local ? socket_.local_endpoint(ec) : socket_.remote_endpoint(ec);
  if (ec) return std::nullopt;
  return endpoint;
}

using UnixSocket = asio::local::stream_protocol::socket;

template <>
std::string SocketTransport<UnixSocket>::describe(const UnixSocket& socket) {
  std::error_code ec;
  // The connecting end of a Unix socket is usually unnamed: name the path.
  auto remote = socket.remote_endpoint(ec);
  std::string path = ec ? std::string() : remote.path();
  if (path.empty()) path = socket.local_endpoint(ec).path();
  return "unix:" + path;
}

template <>
std::optional<asio::ip::tcp::endpoint> SocketTransport<UnixSocket>::tcp_endpoint(bool) const {
  return std::nullopt;
}

}  // namespace

Transport::~Transport() = default;

std::optional<asio::ip::tcp::endpoint> Transport::tcp_endpoint(bool) const { return std::nullopt; }

int Transport::native_socket() const noexcept { return -1; }

const proxy_protocol::Header* Transport::proxy_header() const noexcept { return nullptr; }

std::unique_ptr<Transport> tcp_transport(asio::ip::tcp::socket socket) {
  std::error_code ignored;
  // Line protocols write small segments back to back (STARTTLS, then the
  // ClientHello); Nagle's algorithm would hold the second for an ACK.
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  return std::make_unique<SocketTransport<asio::ip::tcp::socket>>(std::move(socket));
}

std::unique_ptr<Transport> unix_transport(UnixSocket socket) {
  return std::make_unique<SocketTransport<UnixSocket>>(std::move(socket));
}

}  // namespace uptls
