#pragma once
// A server's side of the PROXY protocol: the header read before anything
// else, and a transport that names the client it carries and hands the
// bytes after it on first, so that nothing the client sent in the same
// segment is lost (CPython issue 142352: a ClientHello behind the header).

#include <asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "uptls/server.hpp"
#include "uptls/transport.hpp"

namespace uptls::detail {

/// An accepted transport, seen through its header once read_header() has
/// read it: the client it names, and the bytes read after the header,
/// handed on before any more.
class ProxiedTransport final : public Transport {
 public:
  explicit ProxiedTransport(std::unique_ptr<Transport> inner);

  /// Reads the header the connection begins with, as options.accept_proxy
  /// asks (without one, under Mode::optional, the connection is served as
  /// it is). False when the peer left before sending a byte (a load
  /// balancer's health check).
  /// @throws Error (errc::proxy_header, errc::idle_timeout) saying why the
  ///         connection is refused.
  asio::awaitable<bool> read_header(const ServeOptions& options);

  std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) noexcept override;
  std::size_t write_some(asio::const_buffer buffer, std::error_code& ec) noexcept override;
  asio::awaitable<WaitResult> wait(Readiness direction) override;
  void cancel() noexcept override;
  void shutdown_send(std::error_code& ec) noexcept override;
  void close() noexcept override;
  bool is_open() const noexcept override;
  executor_type get_executor() override;
  std::string peer() const override;
  int native_socket() const noexcept override;
  std::optional<asio::ip::tcp::endpoint> tcp_endpoint(bool local) const override;
  const proxy_protocol::Header* proxy_header() const noexcept override;

 private:
  /// One non-blocking read into pending_; false at the peer's end of stream.
  bool read_available();
  void take(proxy_protocol::Header header, std::size_t size);

  std::unique_ptr<Transport> inner_;
  std::optional<proxy_protocol::Header> header_;
  std::string peer_;
  std::string pending_;  // read, not yet handed on
  std::size_t read_ = 0;
};

}  // namespace uptls::detail
