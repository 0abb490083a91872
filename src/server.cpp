#include "uptls/server.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <unordered_map>

#include "endpoint_text.hpp"
#include "stream_access.hpp"
#include "uptls/error.hpp"

namespace uptls {

using Clock = std::chrono::steady_clock;

namespace {

void log_to_stderr(std::string_view line) {
  std::fprintf(stderr, "uptls: %.*s\n", static_cast<int>(line.size()), line.data());
}

}  // namespace

// All of a server's state is touched only from its executor (one thread).
struct Server::Impl {
  Impl(asio::ip::tcp::acceptor a, Handler h, ServeOptions o)
      : acceptor(std::move(a)),
        handler(std::move(h)),
        options(std::move(o)),
        signal(acceptor.get_executor(), Clock::time_point::max()) {
    if (!options.log) options.log = log_to_stderr;
  }

  asio::ip::tcp::acceptor acceptor;
  Handler handler;
  ServeOptions options;
  // Never expires: cancel() wakes everyone waiting for a change of state.
  asio::steady_timer signal;
  std::unordered_map<std::uint64_t, std::weak_ptr<Stream::Impl>> live;
  std::uint64_t next_id = 0;
  bool stopping = false;
  bool stopped = false;

  void notify() { signal.cancel(); }

  /// Waits for a change of state, or until deadline.
  asio::awaitable<void> wait_change(Clock::time_point deadline) {
    if (deadline == Clock::time_point::max()) {
      co_await signal.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      co_return;
    }
    asio::steady_timer timer(acceptor.get_executor(), deadline);
    co_await asio::experimental::make_parallel_group(
        signal.async_wait(asio::experimental::deferred),
        timer.async_wait(asio::experimental::deferred))
        .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
    while (!self->stopping) {
      auto [ec, socket] =
          co_await self->acceptor.async_accept(asio::experimental::as_tuple(asio::use_awaitable));
      if (self->stopping) break;
      if (ec) {
        self->options.log("accept failed: " + ec.message());
        // Out of descriptors or memory: back off instead of spinning.
        asio::steady_timer pause(self->acceptor.get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        continue;
      }
      asio::co_spawn(self->acceptor.get_executor(), session(self, std::move(socket)),
                     asio::detached);
    }
  }

  static asio::awaitable<void> session(std::shared_ptr<Impl> self, asio::ip::tcp::socket socket) {
    std::string peer = detail::endpoint_text(socket);
    Stream stream = self->options.tls ? Stream(std::move(socket), self->options.tls)
                                      : Stream(std::move(socket), Role::server);
    stream.set_timeouts(self->options.timeouts);
    std::uint64_t id = self->next_id++;
    self->live.emplace(id, stream.impl_);
    try {
      if (self->options.tls && !self->options.upgradeable) co_await stream.start_tls();
      co_await self->handler(std::move(stream));
    } catch (const std::exception& e) {
      self->options.log("connection from " + peer + ": " + e.what());
    }
    self->live.erase(id);
    if (self->live.empty()) self->notify();
  }
};

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

asio::ip::tcp::endpoint Server::local_endpoint() const { return impl_->acceptor.local_endpoint(); }

void Server::set_tls(std::shared_ptr<const tls::ServerConfig> config) {
  impl_->options.tls = std::move(config);
}

std::size_t Server::connections() const noexcept { return impl_->live.size(); }

asio::awaitable<void> Server::serve_forever() {
  auto self = impl_;
  while (!self->stopped) co_await self->wait_change(Clock::time_point::max());
}

asio::awaitable<void> Server::stop(std::chrono::milliseconds grace) {
  auto self = impl_;
  if (self->stopping) {
    while (!self->stopped) co_await self->wait_change(Clock::time_point::max());
    co_return;
  }
  self->stopping = true;
  asio::error_code ignored;
  self->acceptor.close(ignored);
  auto deadline = Clock::now() + grace;
  while (!self->live.empty() && Clock::now() < deadline) co_await self->wait_change(deadline);
  for (auto& [id, weak] : self->live) {
    if (auto stream = weak.lock()) detail::abort_stream(*stream);
  }
  while (!self->live.empty()) co_await self->wait_change(Clock::time_point::max());
  self->stopped = true;
  self->notify();
}

asio::awaitable<Server> start_server(Handler handler, std::string host, std::uint16_t port,
                                     ServeOptions options) {
  auto executor = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(executor);
  // Temporaries stay out of co_await expressions: GCC 12 destroys some of them twice.
  if (host.empty()) host = "0.0.0.0";
  std::string service = std::to_string(port);
  auto flags = asio::ip::tcp::resolver::passive | asio::ip::tcp::resolver::numeric_service;
  auto endpoints = co_await resolver.async_resolve(host, service, flags, asio::use_awaitable);
  asio::ip::tcp::endpoint endpoint = endpoints.begin()->endpoint();
  asio::ip::tcp::acceptor acceptor(executor);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true));
  acceptor.bind(endpoint);
  acceptor.listen();
  auto impl =
      std::make_shared<Server::Impl>(std::move(acceptor), std::move(handler), std::move(options));
  asio::co_spawn(executor, Server::Impl::accept_loop(impl), asio::detached);
  co_return Server(impl);
}

}  // namespace uptls
