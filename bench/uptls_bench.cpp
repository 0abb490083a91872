// uptls_bench: the uptls side of the benchmark; the same scenarios, protocol
// and output as asio_bench (see bench/harness.hpp and bench/run).
//
// One process, two threads: a server (its own io_context) listening on
// 127.0.0.1:0 and a client (its own io_context).

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <future>
#include <memory>
#include <vector>

#include "harness.hpp"
#include "uptls/uptls.hpp"

const char* const bench::program = "uptls_bench";

namespace {

using namespace bench;
using Clock = std::chrono::steady_clock;

class BenchServer {
 public:
  // The concurrency hint: one thread needs no locking in the scheduler.
  explicit BenchServer(const Options& o) : io_(static_cast<int>(o.server_threads)) {
    uptls::ServeOptions options;
    options.tls = uptls::tls::ServerConfig::make(uptls::tls::Identity::from_files(o.cert, o.key));
    options.upgradeable = true;
    options.log = [this](std::string_view line) {
      errors_.fetch_add(1);
      std::cerr << "uptls_bench: server connection: " << line << "\n";
    };
    std::promise<uptls::Server> started;
    auto future = started.get_future();
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          uptls::Handler handler = [this](uptls::Stream s) { return serve(std::move(s)); };
          std::string host = "127.0.0.1";
          started.set_value(co_await uptls::start_server(handler, host, 0, options));
        },
        asio::detached);
    for (std::uint64_t i = 0; i < o.server_threads; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
    server_ = future.get();
  }

  ~BenchServer() {
    io_.stop();
    for (auto& thread : threads_) thread.join();
  }

  asio::ip::tcp::endpoint endpoint() const { return server_->local_endpoint(); }
  long active() const { return active_.load(); }
  long errors() const { return errors_.load(); }

 private:
  asio::awaitable<void> serve(uptls::Stream s) {
    ++active_;
    struct Leave {
      std::atomic<long>& n;
      ~Leave() { --n; }
    } leave{active_};
    while (auto line = co_await s.read_line()) {
      if (*line == "PING") {
        co_await s.write_all("PONG\n");
      } else if (*line == "STARTTLS") {
        co_await s.start_tls();
      } else if (line->rfind("BULK ", 0) == 0) {
        std::uint64_t left = std::stoull(line->substr(5));
        std::vector<char> chunk(kChunk);
        while (left > 0) {
          std::size_t n = co_await s.read_some(
              asio::buffer(chunk.data(), std::min<std::uint64_t>(left, kChunk)));
          if (n == 0) throw std::runtime_error("bulk: peer closed early");
          left -= n;
        }
        co_await s.write_all("DONE\n");
      } else if (*line == "QUIT") {
        break;
      } else {
        throw std::runtime_error("unexpected line '" + *line + "'");
      }
    }
    co_await s.close();
  }

  asio::io_context io_;
  std::vector<std::thread> threads_;
  std::optional<uptls::Server> server_;
  std::atomic<long> active_{0};
  std::atomic<long> errors_{0};
};

asio::awaitable<void> expect_line(uptls::Stream& s, const std::string& want) {
  auto got = co_await s.read_line();
  if (!got || *got != want) {
    throw std::runtime_error("expected '" + want + "', got '" + got.value_or("<end of stream>") +
                             "'");
  }
}

uptls::ConnectOptions upgradeable(std::shared_ptr<const uptls::tls::ClientConfig> config) {
  uptls::ConnectOptions options;
  options.tls = std::move(config);
  options.upgradeable = true;
  options.server_name = "localhost";
  return options;
}

// connect, PING/PONG (plain), STARTTLS, handshake (verified, SNI), PING/PONG (TLS)
asio::awaitable<uptls::Stream> establish(std::shared_ptr<const uptls::tls::ClientConfig> config,
                                         asio::ip::tcp::endpoint endpoint) {
  uptls::ConnectOptions options = upgradeable(config);
  std::string host = endpoint.address().to_string();
  uptls::Stream s = co_await uptls::open_connection(host, endpoint.port(), options);
  co_await s.write_all("PING\n");
  co_await expect_line(s, "PONG");
  co_await s.write_all("STARTTLS\n");
  co_await s.start_tls();
  co_await s.write_all("PING\n");
  co_await expect_line(s, "PONG");
  co_return s;
}

asio::awaitable<void> quit(uptls::Stream& s) {
  co_await s.write_all("QUIT\n");
  co_await s.close();
}

template <typename Fn>
void run_client(Fn fn) {
  asio::io_context io{1};
  std::exception_ptr failure;
  asio::co_spawn(io, fn(), [&](std::exception_ptr e) { failure = e; });
  std::thread([&] { io.run(); }).join();
  if (failure) std::rethrow_exception(failure);
}

std::shared_ptr<const uptls::tls::ClientConfig> client_config(const Options& o) {
  uptls::tls::ClientOptions options;
  options.trust.ca_files.push_back(o.ca);
  options.session_resumption = !o.full_handshakes;
  return uptls::tls::ClientConfig::make(options);
}

void check_server(const BenchServer& server) {
  if (server.errors() != 0) die("server reported " + std::to_string(server.errors()) + " error(s)");
}

void scenario_bulk(const Options& o) {
  BenchServer server(o);
  auto config = client_config(o);
  double seconds = 0;
  run_client([&]() -> asio::awaitable<void> {
    uptls::ConnectOptions options = upgradeable(config);
    std::string host = "127.0.0.1";
    uptls::Stream s = co_await uptls::open_connection(host, server.endpoint().port(), options);
    co_await s.write_all("PING\n");
    co_await expect_line(s, "PONG");
    co_await s.write_all("STARTTLS\n");
    co_await s.start_tls();

    auto t0 = Clock::now();
    std::string header = "BULK " + std::to_string(o.bytes) + "\n";
    co_await s.write_all(header);
    std::vector<char> chunk(kChunk, 'x');
    for (std::uint64_t left = o.bytes; left > 0;) {
      std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(left, kChunk));
      co_await s.write_all(asio::buffer(chunk.data(), k));
      left -= k;
    }
    co_await expect_line(s, "DONE");
    seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    co_await quit(s);
  });
  check_server(server);
  std::printf("result bulk %.1f MB/s\n", static_cast<double>(o.bytes) / 1e6 / seconds);
}

void scenario_sessions(const Options& o) {
  BenchServer server(o);
  auto config = client_config(o);
  std::uint64_t next = 0, ok = 0, failed = 0;
  const std::uint64_t workers = std::min(o.concurrency, o.sessions);
  auto t0 = Clock::now();
  run_client([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto remaining = std::make_shared<std::uint64_t>(workers);
    asio::steady_timer all_done(executor, Clock::time_point::max());
    for (std::uint64_t w = 0; w < workers; ++w) {
      asio::co_spawn(
          executor,
          [&]() -> asio::awaitable<void> {
            while (next < o.sessions) {
              ++next;
              try {
                uptls::Stream s = co_await establish(config, server.endpoint());
                co_await quit(s);
                ++ok;
              } catch (const std::exception& e) {
                if (failed++ < 10) std::cerr << "uptls_bench: session failed: " << e.what() << "\n";
              }
            }
          },
          [&, remaining](std::exception_ptr) {
            if (--*remaining == 0) all_done.cancel();
          });
    }
    asio::error_code ignored;
    if (*remaining > 0)
      co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  });
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (failed != 0 || ok != o.sessions) {
    die("sessions: " + std::to_string(failed) + " of " + std::to_string(o.sessions) + " failed");
  }
  check_server(server);
  std::printf("result sessions %.1f sessions/s\n", static_cast<double>(ok) / seconds);
}

void scenario_memory(const Options& o) {
  BenchServer server(o);
  auto config = client_config(o);
  long before = 0, after = 0;
  run_client([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    auto wait_server_active = [&](long want) -> asio::awaitable<void> {
      auto deadline = Clock::now() + std::chrono::seconds(30);
      while (server.active() != want) {
        if (Clock::now() > deadline) throw std::runtime_error("server connections did not settle");
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(asio::use_awaitable);
      }
    };
    {
      uptls::Stream warm = co_await establish(config, server.endpoint());
      co_await quit(warm);
    }
    co_await wait_server_active(0);

    std::vector<uptls::Stream> streams;
    streams.reserve(o.pairs);
    before = rss_kib();
    for (std::uint64_t i = 0; i < o.pairs; ++i) {
      streams.push_back(co_await establish(config, server.endpoint()));
    }
    co_await wait_server_active(static_cast<long>(o.pairs));
    timer.expires_after(std::chrono::milliseconds(200));
    co_await timer.async_wait(asio::use_awaitable);
    after = rss_kib();
    for (auto& s : streams) co_await s.close();
    streams.clear();
    co_await wait_server_active(0);
  });
  check_server(server);
  std::printf("result memory %.1f KiB/pair\n",
              static_cast<double>(after - before) / static_cast<double>(o.pairs));
}

}  // namespace

int main(int argc, char** argv) {
  return bench::run(argc, argv, scenario_bulk, scenario_sessions, scenario_memory);
}
