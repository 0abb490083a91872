#include "uptls/connect.hpp"

#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <vector>

#include "system_error.hpp"
#include "uptls/error.hpp"
#include "uptls/proxy_protocol.hpp"

namespace uptls {

namespace {

/// The addresses to try: an IP literal as it is, a name resolved (IPv4 and IPv6).
asio::awaitable<std::vector<asio::ip::tcp::endpoint>> addresses(const std::string& host,
                                                                std::uint16_t port,
                                                                asio::steady_timer& timer) {
  asio::error_code not_literal;
  auto literal = asio::ip::make_address(host, not_literal);
  if (!not_literal) co_return std::vector<asio::ip::tcp::endpoint>{{literal, port}};

  asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
  // Temporaries stay out of co_await expressions: GCC 12 destroys some of them twice.
  std::string service = std::to_string(port);
  auto resolving = asio::experimental::make_parallel_group(
      resolver.async_resolve(host, service, asio::experimental::deferred),
      timer.async_wait(asio::experimental::deferred));
  auto [order, resolve_ec, results, timer_ec] =
      co_await resolving.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  if (order[0] == 1 && !timer_ec) {
    throw Error(make_error_code(errc::connect_timeout), "resolving " + host + " timed out");
  }
  if (resolve_ec) {
    throw Error(make_error_code(errc::resolve_failed),
                "cannot resolve '" + host + "': " + resolve_ec.message());
  }
  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  co_return endpoints;
}

/// The client stream over a connected transport, upgraded at once for
/// implicit TLS.
asio::awaitable<Stream> client_stream(std::unique_ptr<Transport> transport, std::string name,
                                      const ConnectOptions& options) {
  Stream stream = options.tls ? Stream(std::move(transport), options.tls, std::move(name))
                              : Stream(std::move(transport), Role::client);
  stream.set_timeouts(options.timeouts);
  if (options.tls && !options.upgradeable) co_await stream.start_tls();
  co_return stream;
}

}  // namespace

asio::awaitable<Stream> open_connection(std::string host, std::uint16_t port,
                                        ConnectOptions options) {
  auto executor = co_await asio::this_coro::executor;
  asio::ip::tcp::socket socket(executor);
  asio::steady_timer timer(executor, options.connect_timeout);
  auto endpoints = co_await addresses(host, port, timer);
  std::string target = host + " port " + std::to_string(port);

  auto connecting = asio::experimental::make_parallel_group(
      asio::async_connect(socket, endpoints, asio::experimental::deferred),
      timer.async_wait(asio::experimental::deferred));
  auto [order2, connect_ec, endpoint, timer_ec2] =
      co_await connecting.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  if (order2[0] == 1 && !timer_ec2) {
    throw Error(make_error_code(errc::connect_timeout),
                "connecting to " + target + " did not finish within " +
                    std::to_string(options.connect_timeout.count()) + " ms");
  }
  if (connect_ec) detail::throw_system_error(connect_ec, "connecting to " + target);
  if (options.send_proxy != 0) {
    asio::ip::tcp::endpoint source = options.send_proxy_source.value_or(socket.local_endpoint());
    // A header cannot mix families: the connection then names itself.
    if (source.address().is_v4() != endpoint.address().is_v4()) source = socket.local_endpoint();
    std::string header = proxy_protocol::encode(options.send_proxy, source, endpoint);
    co_await asio::async_write(socket, asio::buffer(header), asio::use_awaitable);
  }

  std::string name = options.server_name.empty() ? host : options.server_name;
  co_return co_await client_stream(tcp_transport(std::move(socket)), name, options);
}

asio::awaitable<Stream> open_unix_connection(std::string path, ConnectOptions options) {
  auto executor = co_await asio::this_coro::executor;
  asio::local::stream_protocol::socket socket(executor);
  asio::local::stream_protocol::endpoint endpoint(path);
  auto [ec] =
      co_await socket.async_connect(endpoint, asio::experimental::as_tuple(asio::use_awaitable));
  if (ec) detail::throw_system_error(ec, "connecting to unix:" + path);
  std::string name = options.server_name.empty() ? "localhost" : options.server_name;
  co_return co_await client_stream(unix_transport(std::move(socket)), name, options);
}

asio::awaitable<std::tuple<std::error_code, Stream>> detail::open_connection_result(
    std::string host, std::uint16_t port, ConnectOptions options) {
  std::string target = host + " port " + std::to_string(port);
  std::exception_ptr failure;
  try {
    Stream stream = co_await open_connection(std::move(host), port, std::move(options));
    co_return std::tuple<std::error_code, Stream>(std::error_code(), std::move(stream));
  } catch (...) {
    failure = std::current_exception();
  }
  std::string message;
  std::error_code ec = error_of(failure, message);
  co_return std::tuple<std::error_code, Stream>(
      ec, failed_stream(co_await asio::this_coro::executor, std::move(target), std::move(message)));
}

}  // namespace uptls
