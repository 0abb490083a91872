// The server: an accept loop on a strand of its own, one coroutine per
// connection on a strand of its own, and a graceful stop.

#include "uptls/server.hpp"

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <map>
#include <mutex>
#include <unordered_map>

#include "endpoint_text.hpp"
#include "proxy_header.hpp"
#include "stream_observer.hpp"
#include "system_error.hpp"
#include "uptls/error.hpp"
#include "uptls/printable.hpp"

#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uptls {

using Clock = std::chrono::steady_clock;

namespace {

/// The counters behind Server::stats(), told by every stream the server
/// accepted (StreamObserver) and by the server itself, from any thread.
class Metrics final : public detail::StreamObserver {
 public:
  void on_handshake(const Handshake& handshake) noexcept override {
    double seconds = std::chrono::duration<double>(handshake.took).count();
    std::lock_guard lock(mutex_);
    std::string outcome = !handshake.ok ? "failed" : handshake.resumed ? "resumed" : "full";
    bump(handshakes_, Key{outcome, handshake.version, handshake.cipher, handshake.upgrade});
    std::size_t i = 0;
    for (double bound : ServerStats::handshake_bounds) {
      if (seconds <= bound) ++buckets_[i];
      ++i;
    }
    ++handshake_count_;
    handshake_seconds_ += seconds;
  }

  void on_end(std::uint64_t received, std::uint64_t sent) noexcept override {
    bytes_received_ += received;
    bytes_sent_ += sent;
  }

  void accepted() noexcept { ++connections_; }
  void refused() noexcept { ++refused_; }

  /// A connection ended by an error: its reason, as ServerStats names it.
  void failed(const std::exception& e) noexcept {
    std::string reason = "other";
    if (const auto* system = dynamic_cast<const std::system_error*>(&e)) {
      const std::error_category& category = system->code().category();
      if (category == error_category()) {
        reason = errc_name(static_cast<errc>(system->code().value()));
      } else if (category == tls_category() || category == verify_category()) {
        reason = "tls";
      } else {
        reason = "system";
      }
    }
    std::lock_guard lock(mutex_);
    bump(failures_, reason);
  }

  ServerStats stats(std::size_t open) const {
    ServerStats stats;
    stats.connections = connections_;
    stats.open = open;
    stats.refused = refused_;
    stats.bytes_received = bytes_received_;
    stats.bytes_sent = bytes_sent_;
    std::lock_guard lock(mutex_);
    for (const auto& [key, count] : handshakes_) {
      stats.handshakes.push_back({key.outcome, key.version, key.cipher, key.upgrade, count});
    }
    stats.failures.assign(failures_.begin(), failures_.end());
    stats.handshake_buckets.assign(buckets_.begin(), buckets_.end());
    stats.handshake_count = handshake_count_;
    stats.handshake_seconds = handshake_seconds_;
    return stats;
  }

 private:
  struct Key {
    std::string outcome, version, cipher;
    bool upgrade;
    bool operator<(const Key& other) const {
      return std::tie(outcome, version, cipher, upgrade) <
             std::tie(other.outcome, other.version, other.cipher, other.upgrade);
    }
  };

  template <typename Map, typename K>
  static void bump(Map& map, const K& key) noexcept {
    try {
      ++map[key];
    } catch (const std::bad_alloc&) {
      // A counter lost rather than a connection.
    }
  }

  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> bytes_received_{0};
  std::atomic<std::uint64_t> bytes_sent_{0};
  mutable std::mutex mutex_;
  std::map<Key, std::uint64_t> handshakes_;
  std::map<std::string, std::uint64_t> failures_;
  std::array<std::uint64_t, std::size(ServerStats::handshake_bounds)> buckets_{};
  std::uint64_t handshake_count_ = 0;
  double handshake_seconds_ = 0;
};

void log_to_stderr(std::string_view line) {
  // Lines reach here escaped (see Impl::log).
  std::fprintf(stderr, "uptls: %.*s\n", static_cast<int>(line.size()), line.data());
}

/// What the server accepts connections from: TCP or a Unix domain socket.
class Listener {
 public:
  virtual ~Listener() = default;
  /// Accepts one connection whose I/O runs on executor.
  virtual asio::awaitable<std::pair<std::error_code, std::unique_ptr<Transport>>> accept(
      asio::any_io_executor executor) = 0;
  /// Out of descriptors: accepts the oldest pending connection with a
  /// descriptor held in reserve for this and closes it at once, so that the
  /// client learns at once instead of waiting in the backlog.
  virtual void shed_one() noexcept = 0;
  virtual void close() noexcept = 0;
};

/// Whether an accept failed because the process or the system ran out of
/// descriptors.
bool out_of_descriptors(const std::error_code& ec) {
  return ec.value() == EMFILE || ec.value() == ENFILE;
}

std::unique_ptr<Transport> transport_of(asio::ip::tcp::socket socket) {
  return tcp_transport(std::move(socket));
}

std::unique_ptr<Transport> transport_of(asio::local::stream_protocol::socket socket) {
  return unix_transport(std::move(socket));
}

/// TCP or a Unix domain socket; a Unix socket's file is removed at close.
template <typename Protocol>
class SocketListener final : public Listener {
 public:
  explicit SocketListener(typename Protocol::acceptor acceptor, std::string path = {})
      : acceptor_(std::move(acceptor)), path_(std::move(path)) {
    // shed_one() accepts without waiting; async_accept is unaffected.
    acceptor_.non_blocking(true);
  }
  ~SocketListener() override {
    close();
    if (reserve_ >= 0) ::close(reserve_);
  }

  asio::awaitable<std::pair<std::error_code, std::unique_ptr<Transport>>> accept(
      asio::any_io_executor executor) override {
    auto [ec, socket] = co_await acceptor_.async_accept(
        executor, asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) co_return std::pair(ec, nullptr);
    co_return std::pair(ec, transport_of(std::move(socket)));
  }

  void shed_one() noexcept override {
    if (reserve_ >= 0) ::close(reserve_);
    int shed = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (shed >= 0) ::close(shed);
    reserve_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  void close() noexcept override {
    if (!acceptor_.is_open()) return;
    std::error_code ignored;
    acceptor_.close(ignored);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

 private:
  typename Protocol::acceptor acceptor_;
  std::string path_;
  // A descriptor kept open for shed_one() to give up when none is left.
  int reserve_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
};

}  // namespace

// The accept loop, stop() and serve_forever() run on the server's strand,
// and only they touch the table of live connections; each connection runs
// on its own strand and reports its end by posting to the server's.
struct Server::Impl {
  Impl(asio::any_io_executor executor, std::unique_ptr<Listener> l, std::string a, Handler h,
       ServeOptions o)
      : io(std::move(executor)),
        strand(asio::make_strand(io)),
        listener(std::move(l)),
        address(std::move(a)),
        handler(std::move(h)),
        options(std::move(o)),
        signal(strand, Clock::time_point::max()) {
    if (!options.log) options.log = log_to_stderr;
  }

  /// Every log line may carry peer bytes (a handler's message, a name):
  /// escaped, so that no peer can write control sequences or forge lines.
  void log(const std::string& line) const { options.log(escape_control(line)); }

  asio::any_io_executor io;
  asio::strand<asio::any_io_executor> strand;
  std::unique_ptr<Listener> listener;
  std::string address;
  std::optional<asio::ip::tcp::endpoint> tcp_endpoint;
  Handler handler;
  ServeOptions options;
  // Guards options.tls, which set_tls may replace from any thread.
  std::mutex tls_mutex;
  // Never expires: cancel() wakes everyone waiting for a change of state.
  asio::steady_timer signal;
  std::unordered_map<std::uint64_t, Stream::AbortHandle> live;
  // Open connections per client address, for max_per_address.
  std::unordered_map<std::string, std::size_t> per_address;
  // Connections closed at once (over the limits, out of descriptors) since the last log line about
  // them: one line per burst, not one per connection.
  std::size_t refused = 0;
  Clock::time_point refused_logged{};
  std::atomic<std::size_t> live_count{0};
  std::shared_ptr<Metrics> metrics = std::make_shared<Metrics>();
  // Connections that ended since memory was last given back.
  std::size_t ended_since_trim = 0;
  // The most connections open at once since then.
  std::size_t peak_since_trim = 0;
  std::uint64_t next_id = 0;
  bool stopping = false;
  // Set when stop() ends the connections that outlived the grace period;
  // read by their strands.
  std::atomic<bool> ending{false};
  bool stopped = false;

  std::shared_ptr<const tls::ServerConfig> tls() {
    std::lock_guard lock(tls_mutex);
    return options.tls;
  }

  /// Waits for a change of state, or until deadline.
  asio::awaitable<void> wait_change(Clock::time_point deadline) {
    if (deadline == Clock::time_point::max()) {
      co_await signal.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      co_return;
    }
    asio::steady_timer timer(strand, deadline);
    co_await asio::experimental::make_parallel_group(
        signal.async_wait(asio::experimental::deferred),
        timer.async_wait(asio::experimental::deferred))
        .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
    while (!self->stopping) {
      auto connection_strand = asio::make_strand(self->io);
      auto [ec, transport] = co_await self->listener->accept(connection_strand);
      if (self->stopping) break;
      if (ec && out_of_descriptors(ec)) {
        // The open connections keep being served; new ones are closed.
        self->listener->shed_one();
        self->note_refused("out of file descriptors (" + ec.message() + ")");
        continue;
      }
      if (ec) {
        self->log("accept failed: " + ec.message());
        // Out of memory or buffers: back off instead of spinning.
        asio::steady_timer pause(self->strand, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        continue;
      }
      // Behind a PROXY header the client is known once it is read (session).
      detail::ProxiedTransport* proxied = nullptr;
      std::string client;
      if (self->options.accept_proxy != proxy_protocol::Mode::off) {
        auto wrapper = std::make_unique<detail::ProxiedTransport>(std::move(transport));
        proxied = wrapper.get();
        transport = std::move(wrapper);
      } else {
        client = client_address(*transport);
      }
      if (self->over_limits(client)) {
        transport->close();
        self->note_refused("over the limits");
        continue;
      }
      auto tls = self->tls();
      Stream stream =
          tls ? Stream(std::move(transport), tls) : Stream(std::move(transport), Role::server);
      stream.set_timeouts(self->options.timeouts);
      detail::observe(stream, self->metrics);
      self->metrics->accepted();
      std::uint64_t id = self->next_id++;
      self->live.emplace(id, stream.abort_handle());
      self->live_count = self->live.size();
      self->peak_since_trim = std::max(self->peak_since_trim, self->live.size());
      if (!client.empty()) ++self->per_address[client];
      asio::co_spawn(
          connection_strand,
          session(self, id, std::move(client), std::move(stream), tls != nullptr, proxied),
          asio::detached);
    }
  }

  /// After a burst (many connections, most of them gone), hands the memory
  /// they used back to the system: glibc's allocator keeps freed memory in
  /// its per-thread arenas, so a server's RSS would stay at its peak.
  /// Called as each connection ends: trims once open connections fell to a
  /// quarter of a peak of at least 256 and at least 64 ended. A trim takes
  /// some milliseconds, so a steady load (whose count stays near its peak)
  /// and small servers never pay for it.
  void give_back_memory() {
    constexpr std::size_t burst = 256;
    constexpr std::size_t ended_enough = 64;
    ++ended_since_trim;
    if (peak_since_trim < burst || ended_since_trim < ended_enough ||
        live.size() * 4 > peak_since_trim) {
      return;
    }
#if defined(__GLIBC__)
    ::malloc_trim(0);
#endif
    ended_since_trim = 0;
    peak_since_trim = live.size();
  }

  /// The client's IP address; empty for a Unix socket.
  static std::string client_address(Transport& transport) {
    auto remote = transport.tcp_endpoint(false);
    return remote ? remote->address().to_string() : std::string();
  }

  bool over_limits(const std::string& client) const {
    if (options.max_connections > 0 && live.size() >= options.max_connections) return true;
    return over_address_limit(client);
  }

  bool over_address_limit(const std::string& client) const {
    if (options.max_per_address == 0 || client.empty()) return false;
    auto found = per_address.find(client);
    return found != per_address.end() && found->second >= options.max_per_address;
  }

  /// On the server's strand: counts a client that its PROXY header named,
  /// unless it is over max_per_address.
  static asio::awaitable<bool> count_client(std::shared_ptr<Impl> self, std::string client) {
    if (self->over_address_limit(client)) {
      self->note_refused("over the limits");
      co_return false;
    }
    if (!client.empty()) ++self->per_address[client];
    co_return true;
  }

  /// Reads the PROXY header of a connection and counts the client it names;
  /// false when the connection is not to be served (the peer left, or the
  /// client is over its limit). Clears client unless it was counted.
  static asio::awaitable<bool> admit(std::shared_ptr<Impl> self, detail::ProxiedTransport& proxied,
                                     std::string& client) {
    if (!co_await proxied.read_header(self->options)) co_return false;
    std::string named = client_address(proxied);
    if (!co_await asio::co_spawn(self->strand, count_client(self, named), asio::use_awaitable)) {
      co_return false;
    }
    client = std::move(named);
    co_return true;
  }

  /// Counts a connection closed at once; logs once a second at most.
  void note_refused(const std::string& why) {
    ++refused;
    metrics->refused();
    auto now = Clock::now();
    if (now - refused_logged < std::chrono::seconds(1)) return;
    log("refused " + std::to_string(refused) + " connection(s) " + why + " (" +
        std::to_string(live.size()) + " open; max_connections " +
        std::to_string(options.max_connections) + ", max_per_address " +
        std::to_string(options.max_per_address) + ")");
    refused = 0;
    refused_logged = now;
  }

  static asio::awaitable<void> session(std::shared_ptr<Impl> self, std::uint64_t id,
                                       std::string client, Stream stream, bool tls,
                                       detail::ProxiedTransport* proxied) {
    std::string peer = stream.peer();
    try {
      // Not `!proxied || co_await ...`: GCC 12 miscompiles a co_await in a
      // short-circuit operand.
      bool serve = true;
      if (proxied) serve = co_await admit(self, *proxied, client);
      peer = stream.peer();
      if (serve && tls && !self->options.upgradeable) co_await stream.start_tls();
      if (serve) co_await self->handler(std::move(stream));
    } catch (const std::exception& e) {
      // Connections that stop() ended are expected to fail; others are news.
      if (!self->ending) {
        self->metrics->failed(e);
        self->log("connection from " + peer + ": " + name_peer_once(e.what(), peer));
      }
    }
    asio::post(self->strand, [self, id, client = std::move(client)] {
      self->live.erase(id);
      if (auto found = self->per_address.find(client); found != self->per_address.end()) {
        if (--found->second == 0) self->per_address.erase(found);
      }
      self->live_count = self->live.size();
      self->give_back_memory();
      if (self->live.empty()) self->signal.cancel();
    });
  }

  static asio::awaitable<void> serve_forever(std::shared_ptr<Impl> self) {
    while (!self->stopped) co_await self->wait_change(Clock::time_point::max());
  }

  static asio::awaitable<void> stop(std::shared_ptr<Impl> self, std::chrono::milliseconds grace) {
    if (self->stopping) {
      while (!self->stopped) co_await self->wait_change(Clock::time_point::max());
      co_return;
    }
    self->stopping = true;
    self->listener->close();
    auto deadline = Clock::now() + grace;
    while (!self->live.empty() && Clock::now() < deadline) co_await self->wait_change(deadline);
    self->ending = true;
    for (auto& [id, handle] : self->live) handle.abort_with_close_notify();
    while (!self->live.empty()) co_await self->wait_change(Clock::time_point::max());
    self->stopped = true;
    self->signal.cancel();
  }

  static Server start(asio::any_io_executor executor, std::unique_ptr<Listener> listener,
                      std::string address, Handler handler, ServeOptions options,
                      std::optional<asio::ip::tcp::endpoint> endpoint) {
    auto impl = std::make_shared<Impl>(std::move(executor), std::move(listener), std::move(address),
                                       std::move(handler), std::move(options));
    impl->tcp_endpoint = endpoint;
    asio::co_spawn(impl->strand, accept_loop(impl), asio::detached);
    return Server(impl);
  }
};

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::Server(std::string failure) : failure_(std::move(failure)) {}

asio::ip::tcp::endpoint Server::local_endpoint() const {
  if (!impl_) {
    throw std::system_error(std::make_error_code(std::errc::not_connected),
                            failure_.empty() ? "the server was never started"
                                             : "the server did not start: " + failure_);
  }
  if (!impl_->tcp_endpoint) {
    throw std::system_error(std::make_error_code(std::errc::address_family_not_supported),
                            "the server at " + impl_->address + " has no TCP endpoint");
  }
  return *impl_->tcp_endpoint;
}

std::string Server::address() const { return impl_ ? impl_->address : std::string(); }

void Server::set_tls(std::shared_ptr<const tls::ServerConfig> config) {
  if (!impl_) return;
  std::lock_guard lock(impl_->tls_mutex);
  impl_->options.tls = std::move(config);
}

std::size_t Server::connections() const noexcept { return impl_ ? impl_->live_count.load() : 0; }

ServerStats Server::stats() const {
  return impl_ ? impl_->metrics->stats(impl_->live_count.load()) : ServerStats();
}

asio::awaitable<void> Server::serve_forever() {
  if (!impl_) co_return;
  co_await asio::co_spawn(impl_->strand, Impl::serve_forever(impl_), asio::use_awaitable);
}

asio::awaitable<void> Server::stop(std::chrono::milliseconds grace) {
  if (!impl_) co_return;
  co_await asio::co_spawn(impl_->strand, Impl::stop(impl_, grace), asio::use_awaitable);
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
  std::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && options.reuse_port) {
    acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
  }
  if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) detail::throw_system_error(ec, "cannot listen on " + detail::endpoint_text(endpoint));
  auto bound = acceptor.local_endpoint();
  co_return Server::Impl::start(
      executor, std::make_unique<SocketListener<asio::ip::tcp>>(std::move(acceptor)),
      detail::endpoint_text(bound), std::move(handler), std::move(options), bound);
}

namespace {

/// Removes a socket file at path that nobody listens on any more.
void remove_stale_socket(const std::string& path, const asio::any_io_executor& executor) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode)) return;
  asio::local::stream_protocol::socket probe(executor);
  std::error_code ec;
  probe.connect(asio::local::stream_protocol::endpoint(path), ec);
  // Asio's system category does not compare equal to std::errc: compare the value.
  if (ec && ec.value() == ECONNREFUSED) ::unlink(path.c_str());
}

}  // namespace

asio::awaitable<Server> start_unix_server(Handler handler, std::string path, ServeOptions options) {
  auto executor = co_await asio::this_coro::executor;
  remove_stale_socket(path, executor);
  asio::local::stream_protocol::acceptor acceptor(executor);
  asio::local::stream_protocol::endpoint endpoint(path);
  acceptor.open(endpoint.protocol());
  std::error_code ec;
  acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) detail::throw_system_error(ec, "cannot listen on unix:" + path);
  co_return Server::Impl::start(
      executor,
      std::make_unique<SocketListener<asio::local::stream_protocol>>(std::move(acceptor), path),
      "unix:" + path, std::move(handler), std::move(options), std::nullopt);
}

// The failure becomes a code, and a Server that keeps its message.
asio::awaitable<std::tuple<std::error_code, Server>> Server::result_of(
    asio::awaitable<Server> start) {
  std::exception_ptr failure;
  try {
    Server server = co_await std::move(start);
    co_return std::tuple<std::error_code, Server>(std::error_code(), std::move(server));
  } catch (...) {
    failure = std::current_exception();
  }
  std::string message;
  std::error_code ec = error_of(failure, message);
  co_return std::tuple<std::error_code, Server>(ec, Server(std::move(message)));
}

asio::awaitable<std::tuple<std::error_code, Server>> detail::start_server_result(
    Handler handler, std::string host, std::uint16_t port, ServeOptions options) {
  return Server::result_of(
      start_server(std::move(handler), std::move(host), port, std::move(options)));
}

asio::awaitable<std::tuple<std::error_code, Server>> detail::start_unix_server_result(
    Handler handler, std::string path, ServeOptions options) {
  return Server::result_of(
      start_unix_server(std::move(handler), std::move(path), std::move(options)));
}

}  // namespace uptls
