// asio_bench: the "straightforward asio::ssl::stream" side of the uptls benchmark.
//
// One process, two threads: a server (own io_context) listening on 127.0.0.1:0
// and a client (own io_context). Protocol ("seed pingpong", '\n'-terminated lines):
//   PING      -> PONG
//   STARTTLS  -> the server upgrades the same socket to TLS (sends nothing first);
//                any bytes already buffered after the line (start of the
//                ClientHello) are handed to async_handshake(server, buffered).
//   BULK <n>  -> (bulk scenario, over TLS) n raw bytes follow; when all have
//                arrived the server answers DONE
//   QUIT      -> the server shuts TLS down (if upgraded) and closes.
//
// Usage: asio_bench <bulk|sessions|memory> --cert FILE --key FILE --ca FILE
//                   [--bytes N] [--sessions N] [--concurrency N] [--pairs N]
//                   [--timeout SECONDS]
// Prints exactly one line to stdout: "result <scenario> <value> <unit>".
// Errors go to stderr and the exit status is 1.
//
// Built by CMake (target asio_bench); bench/run runs it beside uptls_bench.

#include "harness.hpp"

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <openssl/ssl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using asio::awaitable;
using asio::co_spawn;
using asio::detached;
using asio::use_awaitable;
using asio::ip::tcp;
using ssl_stream = asio::ssl::stream<tcp::socket>;
using Clock = std::chrono::steady_clock;

const char* const bench::program = "asio_bench";

namespace {

using namespace bench;

// Takes one '\n'-terminated line (n bytes including '\n') out of the streambuf.
std::string take_line(asio::streambuf& buf, std::size_t n) {
  std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
  buf.consume(n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// Errors that just mean "the peer went away"; not worth reporting on the server.
bool benign(const asio::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

class Server {
 public:
  Server(const Options& o) : ctx_(asio::ssl::context::tls_server), acceptor_(ioc_) {
    ctx_.use_certificate_chain_file(o.cert);
    ctx_.use_private_key_file(o.key, asio::ssl::context::pem);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    endpoint_ = acceptor_.local_endpoint();
    co_spawn(ioc_, accept_loop(), detached);
    thread_ = std::thread([this] {
      try {
        ioc_.run();
      } catch (const std::exception& e) {
        die(std::string("server thread: ") + e.what());
      }
    });
  }

  ~Server() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    ioc_.stop();
    thread_.join();
    asio::error_code ec;
    acceptor_.close(ec);
  }

  tcp::endpoint endpoint() const { return endpoint_; }
  long active() const { return active_.load(); }
  long errors() const { return errors_.load(); }

 private:
  awaitable<void> accept_loop() {
    for (;;) {
      asio::error_code ec;
      tcp::socket sock = co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        // e.g. EMFILE: report, back off briefly and keep going
        std::cerr << "asio_bench: server accept: " << ec.message() << "\n";
        asio::steady_timer t(ioc_, std::chrono::milliseconds(10));
        co_await t.async_wait(use_awaitable);
        continue;
      }
      sock.set_option(tcp::no_delay(true));
      active_.fetch_add(1);
      co_spawn(ioc_, serve(std::move(sock)), [this](std::exception_ptr ep) {
        active_.fetch_sub(1);
        if (!ep) return;
        try {
          std::rethrow_exception(ep);
        } catch (const asio::system_error& e) {
          if (!benign(e.code())) {
            errors_.fetch_add(1);
            std::cerr << "asio_bench: server connection: " << e.what() << "\n";
          }
        } catch (const std::exception& e) {
          errors_.fetch_add(1);
          std::cerr << "asio_bench: server connection: " << e.what() << "\n";
        }
      });
    }
  }

  // Handles "BULK <n>": n raw bytes follow (some may already be in buf), then DONE.
  template <typename Stream>
  static awaitable<void> bulk_receive(Stream& s, asio::streambuf& buf, std::uint64_t n) {
    std::uint64_t got = std::min<std::uint64_t>(buf.size(), n);
    buf.consume(static_cast<std::size_t>(got));
    std::vector<char> chunk(kChunk);
    while (got < n) {
      std::size_t k = co_await s.async_read_some(asio::buffer(chunk), use_awaitable);
      got += k;
    }
    if (got != n) throw std::runtime_error("bulk: peer sent more bytes than announced");
    co_await asio::async_write(s, asio::buffer("DONE\n", 5), use_awaitable);
  }

  awaitable<void> serve(tcp::socket sock) {
    asio::streambuf buf;
    // Plain phase.
    for (;;) {
      std::size_t n = co_await asio::async_read_until(sock, buf, '\n', use_awaitable);
      std::string line = take_line(buf, n);
      if (line == "PING") {
        co_await asio::async_write(sock, asio::buffer("PONG\n", 5), use_awaitable);
      } else if (line == "STARTTLS") {
        break;
      } else if (line == "QUIT") {
        asio::error_code ec;
        sock.shutdown(tcp::socket::shutdown_both, ec);
        sock.close(ec);
        co_return;
      } else {
        throw std::runtime_error("plain: unexpected line '" + line + "'");
      }
    }

    // Upgrade in place; bytes of the ClientHello may already sit in buf.
    ssl_stream tls(std::move(sock), ctx_);
    std::size_t used =
        co_await tls.async_handshake(asio::ssl::stream_base::server, buf.data(), use_awaitable);
    buf.consume(used);
    if (buf.size() != 0) throw std::runtime_error("unconsumed bytes after TLS handshake");

    // TLS phase.
    for (;;) {
      std::size_t n = co_await asio::async_read_until(tls, buf, '\n', use_awaitable);
      std::string line = take_line(buf, n);
      if (line == "PING") {
        co_await asio::async_write(tls, asio::buffer("PONG\n", 5), use_awaitable);
      } else if (line.rfind("BULK ", 0) == 0) {
        co_await bulk_receive(tls, buf, std::stoull(line.substr(5)));
      } else if (line == "QUIT") {
        // TLS shutdown then close; a peer that just closes is fine.
        co_await tls.async_shutdown(asio::redirect_error(use_awaitable, shutdown_ec_));
        asio::error_code ec;
        tls.lowest_layer().close(ec);
        co_return;
      } else {
        throw std::runtime_error("tls: unexpected line '" + line + "'");
      }
    }
  }

  asio::io_context ioc_{1};
  asio::ssl::context ctx_;
  tcp::acceptor acceptor_;
  tcp::endpoint endpoint_;
  std::thread thread_;
  std::atomic<long> active_{0};
  std::atomic<long> errors_{0};
  asio::error_code shutdown_ec_;  // ignored (server thread only)
};

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

void make_client_context(asio::ssl::context& ctx, const Options& o) {
  ctx.load_verify_file(o.ca);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  ctx.set_verify_callback(asio::ssl::host_name_verification("localhost"));
}

awaitable<std::string> read_line(auto& s, asio::streambuf& buf) {
  std::size_t n = co_await asio::async_read_until(s, buf, '\n', use_awaitable);
  co_return take_line(buf, n);
}

awaitable<void> expect_line(auto& s, asio::streambuf& buf, const std::string& want,
                            const char* what) {
  std::string got = co_await read_line(s, buf);
  if (got != want)
    throw std::runtime_error(std::string(what) + ": expected '" + want + "', got '" + got + "'");
}

// connect, PING/PONG (plain), STARTTLS, handshake (verified, SNI), PING/PONG (TLS)
awaitable<std::unique_ptr<ssl_stream>> establish(asio::ssl::context& ctx, tcp::endpoint ep,
                                                 asio::streambuf& buf) {
  auto executor = co_await asio::this_coro::executor;
  auto s = std::make_unique<ssl_stream>(executor, ctx);
  co_await s->next_layer().async_connect(ep, use_awaitable);
  s->next_layer().set_option(tcp::no_delay(true));

  co_await asio::async_write(s->next_layer(), asio::buffer("PING\n", 5), use_awaitable);
  co_await expect_line(s->next_layer(), buf, "PONG", "plain PING");
  co_await asio::async_write(s->next_layer(), asio::buffer("STARTTLS\n", 9), use_awaitable);
  if (buf.size() != 0) throw std::runtime_error("unexpected bytes before TLS handshake");

  if (!SSL_set_tlsext_host_name(s->native_handle(), "localhost"))
    throw std::runtime_error("SSL_set_tlsext_host_name failed");
  co_await s->async_handshake(asio::ssl::stream_base::client, use_awaitable);

  co_await asio::async_write(*s, asio::buffer("PING\n", 5), use_awaitable);
  co_await expect_line(*s, buf, "PONG", "TLS PING");
  co_return s;
}

// QUIT, TLS shutdown (errors ignored: the server may just close), close.
awaitable<void> quit(ssl_stream& s) {
  co_await asio::async_write(s, asio::buffer("QUIT\n", 5), use_awaitable);
  asio::error_code ec;
  co_await s.async_shutdown(asio::redirect_error(use_awaitable, ec));
  s.lowest_layer().close(ec);
}

// Runs fn on a fresh client io_context on its own thread; rethrows its exception.
template <typename Fn>
void run_client(Fn fn) {
  asio::io_context ioc{1};
  std::exception_ptr failure;
  std::thread t([&] {
    try {
      co_spawn(ioc, fn(), [&](std::exception_ptr ep) { failure = ep; });
      ioc.run();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  t.join();
  if (failure) std::rethrow_exception(failure);
}

void check_server(const Server& server) {
  if (server.errors() != 0) die("server reported " + std::to_string(server.errors()) + " error(s)");
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

void scenario_bulk(const Options& o) {
  Server server(o);
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  make_client_context(ctx, o);
  double seconds = 0;

  run_client([&]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::streambuf buf;
    ssl_stream s(executor, ctx);
    co_await s.next_layer().async_connect(server.endpoint(), use_awaitable);
    s.next_layer().set_option(tcp::no_delay(true));
    co_await asio::async_write(s.next_layer(), asio::buffer("PING\n", 5), use_awaitable);
    co_await expect_line(s.next_layer(), buf, "PONG", "plain PING");
    co_await asio::async_write(s.next_layer(), asio::buffer("STARTTLS\n", 9), use_awaitable);
    if (!SSL_set_tlsext_host_name(s.native_handle(), "localhost"))
      throw std::runtime_error("SSL_set_tlsext_host_name failed");
    co_await s.async_handshake(asio::ssl::stream_base::client, use_awaitable);

    auto t0 = Clock::now();
    std::string hdr = "BULK " + std::to_string(o.bytes) + "\n";
    co_await asio::async_write(s, asio::buffer(hdr), use_awaitable);
    std::vector<char> chunk(kChunk, 'x');
    std::uint64_t left = o.bytes;
    while (left > 0) {
      std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(left, kChunk));
      co_await asio::async_write(s, asio::buffer(chunk.data(), k), use_awaitable);
      left -= k;
    }
    co_await expect_line(s, buf, "DONE", "bulk");
    auto t1 = Clock::now();
    seconds = std::chrono::duration<double>(t1 - t0).count();
    co_await quit(s);
  });

  server.stop();
  check_server(server);
  if (seconds <= 0) die("bulk: bad timing");
  std::printf("result bulk %.1f MB/s\n", static_cast<double>(o.bytes) / 1e6 / seconds);
}

void scenario_sessions(const Options& o) {
  Server server(o);
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  make_client_context(ctx, o);

  std::uint64_t next = 0, ok = 0, failed = 0;
  const std::uint64_t workers = std::min(o.concurrency, o.sessions);
  auto t0 = Clock::now();
  run_client([&]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto remaining = std::make_shared<std::uint64_t>(workers);
    asio::steady_timer all_done(executor, Clock::time_point::max());
    for (std::uint64_t w = 0; w < workers; ++w) {
      co_spawn(
          executor,
          [&]() -> awaitable<void> {
            while (next < o.sessions) {
              ++next;
              try {
                asio::streambuf buf;
                auto s = co_await establish(ctx, server.endpoint(), buf);
                co_await quit(*s);
                ++ok;
              } catch (const std::exception& e) {
                if (failed++ < 10) std::cerr << "asio_bench: session failed: " << e.what() << "\n";
              }
            }
          },
          [&, remaining](std::exception_ptr) {
            if (--*remaining == 0) all_done.cancel();
          });
    }
    asio::error_code ec;  // operation_aborted when the last worker finishes
    if (*remaining > 0) co_await all_done.async_wait(asio::redirect_error(use_awaitable, ec));
  });
  auto t1 = Clock::now();

  server.stop();
  if (failed != 0 || ok != o.sessions)
    die("sessions: " + std::to_string(failed) + " of " + std::to_string(o.sessions) + " failed");
  check_server(server);
  double seconds = std::chrono::duration<double>(t1 - t0).count();
  std::printf("result sessions %.1f sessions/s\n", static_cast<double>(ok) / seconds);
}

void scenario_memory(const Options& o) {
  Server server(o);
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  make_client_context(ctx, o);

  long before = 0, after = 0;

  run_client([&]() -> awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    std::vector<std::unique_ptr<ssl_stream>> streams;
    streams.reserve(o.pairs);
    asio::steady_timer timer(executor);
    auto wait_server_active = [&](long want) -> awaitable<void> {
      auto deadline = Clock::now() + std::chrono::seconds(30);
      while (server.active() != want) {
        if (Clock::now() > deadline)
          throw std::runtime_error("server has " + std::to_string(server.active()) +
                                   " connections, expected " + std::to_string(want));
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(use_awaitable);
      }
    };

    // Warm-up pair: one-time costs (contexts, first handshake, allocator arenas).
    {
      asio::streambuf buf;
      auto s = co_await establish(ctx, server.endpoint(), buf);
      co_await quit(*s);
    }
    co_await wait_server_active(0);

    before = rss_kib();
    for (std::uint64_t i = 0; i < o.pairs; ++i) {
      asio::streambuf buf;
      streams.push_back(co_await establish(ctx, server.endpoint(), buf));
    }
    // All pairs are up; let the server coroutines settle into reading the next line.
    co_await wait_server_active(static_cast<long>(o.pairs));
    timer.expires_after(std::chrono::milliseconds(200));
    co_await timer.async_wait(use_awaitable);
    after = rss_kib();

    // Close everything (client just closes; the server sees EOF and ends).
    for (auto& s : streams) {
      asio::error_code ec;
      s->lowest_layer().close(ec);
    }
    streams.clear();
    co_await wait_server_active(0);
  });
  server.stop();
  check_server(server);

  std::printf("result memory %.1f KiB/pair\n",
              static_cast<double>(after - before) / static_cast<double>(o.pairs));
}

}  // namespace

int main(int argc, char** argv) {
  return bench::run(argc, argv, scenario_bulk, scenario_sessions, scenario_memory);
}
