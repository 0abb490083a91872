#include "workers.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace uptls::cli {
namespace {

using Clock = std::chrono::steady_clock;

/// A worker that dies this soon after it started, this many times in a row,
/// is not started again: something is wrong that another try will not mend.
constexpr auto quick_death = std::chrono::seconds(1);
constexpr int quick_deaths_allowed = 5;

struct Worker {
  unsigned index = 0;
  Clock::time_point started;
};

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by ") + strsignal(WTERMSIG(status));
  return "stopped";
}

class Supervisor {
 public:
  Supervisor(asio::io_context& io, Handler handler, std::string host, std::uint16_t port,
             ServeOptions options, ServerArgs args, Serving serving)
      : io_(io),
        handler_(std::move(handler)),
        host_(std::move(host)),
        port_(port),
        options_(std::move(options)),
        args_(std::move(args)),
        serving_(std::move(serving)),
        signals_(io, SIGINT, SIGTERM, SIGHUP) {
    signals_.add(SIGCHLD);
    options_.reuse_port = true;
  }

  asio::awaitable<int> run() {
    using namespace asio::experimental::awaitable_operators;
    if (!args_.metrics.empty()) {
      throw std::invalid_argument(
          "--metrics counts one process's connections: it does not go with --workers yet");
    }
    asio::ip::tcp::acceptor reserved = reserve();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::system_category(), "pipe");
    ready_write_ = fds[1];
    asio::posix::stream_descriptor ready(io_, fds[0]);
    for (unsigned i = 0; i < args_.workers; ++i) spawn(i);
    // Every worker listens, or the start failed.
    unsigned listening = 0;
    char byte[64];
    while (listening < args_.workers) {
      auto event = co_await (ready.async_read_some(asio::buffer(byte), asio::use_awaitable) ||
                             signals_.async_wait(asio::use_awaitable));
      if (event.index() == 0) {
        listening += static_cast<unsigned>(std::get<0>(event));
        continue;
      }
      int signal = std::get<1>(event);
      if (signal == SIGCHLD && reap(false)) continue;
      if (signal == SIGHUP) continue;
      co_return co_await stop(signal == SIGCHLD ? 1 : 0);
    }
    announce(reserved.local_endpoint());
    for (;;) {
      int signal = co_await signals_.async_wait(asio::use_awaitable);
      if (signal == SIGHUP) {
        forward(SIGHUP);
      } else if (signal == SIGCHLD) {
        if (!reap(true)) co_return co_await stop(1);
      } else {
        co_return co_await stop(0);
      }
    }
  }

 private:
  /// The port, bound (not listening) with SO_REUSEPORT: port 0 picks one
  /// for every worker, and nobody else takes it while a worker restarts.
  asio::ip::tcp::acceptor reserve() {
    asio::ip::tcp::resolver resolver(io_);
    auto endpoint =
        resolver
            .resolve(host_.empty() ? "0.0.0.0" : host_, std::to_string(port_),
                     asio::ip::tcp::resolver::passive | asio::ip::tcp::resolver::numeric_service)
            .begin()
            ->endpoint();
    asio::ip::tcp::acceptor acceptor(io_);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true));
    std::error_code ec;
    acceptor.bind(endpoint, ec);
    if (ec) throw std::system_error(ec, "cannot listen on " + endpoint_text(endpoint));
    port_ = acceptor.local_endpoint().port();
    return acceptor;
  }

  void spawn(unsigned index) {
    std::fflush(nullptr);
    io_.notify_fork(asio::io_context::fork_prepare);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::system_category(), "fork");
    if (pid == 0) {
      // A worker whose parent is gone (killed) drains and ends too.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);
      io_.notify_fork(asio::io_context::fork_child);
      int ready = ready_write_;
      auto on_ready = [ready](const Server&) {
        [[maybe_unused]] auto written = ::write(ready, "1", 1);
        ::close(ready);
      };
      int status = run_command(
          serving_.command, serve_here(handler_, host_, port_, options_, args_, serving_, on_ready),
          args_.threads);
      std::fflush(nullptr);
      ::_exit(status);
    }
    io_.notify_fork(asio::io_context::fork_parent);
    workers_[pid] = Worker{index, Clock::now()};
  }

  /// Collects the workers that ended; starts each again (restart) unless it
  /// died at once too often. False when one should not be started again.
  bool reap(bool restart) {
    bool fine = true;
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      auto found = workers_.find(pid);
      if (found == workers_.end()) continue;
      Worker worker = found->second;
      workers_.erase(found);
      bool quick = Clock::now() - worker.started < quick_death;
      quick_deaths_ = quick ? quick_deaths_ + 1 : 0;
      std::fprintf(stderr, "uptls %s: worker %u (pid %d) %s\n", serving_.command.c_str(),
                   worker.index + 1, static_cast<int>(pid), exit_text(status).c_str());
      if (!restart || quick_deaths_ >= quick_deaths_allowed) {
        fine = false;
        continue;
      }
      std::fprintf(stderr, "uptls %s: starting worker %u again\n", serving_.command.c_str(),
                   worker.index + 1);
      spawn(worker.index);
    }
    return fine;
  }

  void forward(int signal) {
    for (const auto& [pid, worker] : workers_) ::kill(pid, signal);
  }

  /// SIGTERM to every worker; waits for them (they drain), killing those
  /// still there well after --drain-timeout.
  asio::awaitable<int> stop(int status) {
    forward(SIGTERM);
    asio::steady_timer deadline(io_);
    deadline.expires_after(args_.drain() + std::chrono::seconds(10));
    while (!workers_.empty()) {
      using namespace asio::experimental::awaitable_operators;
      auto event = co_await (signals_.async_wait(asio::use_awaitable) ||
                             deadline.async_wait(asio::use_awaitable));
      if (event.index() == 1) {
        forward(SIGKILL);
        deadline.expires_after(std::chrono::seconds(10));
      }
      int collected = 0;
      pid_t pid;
      while ((pid = ::waitpid(-1, &collected, WNOHANG)) > 0) {
        auto found = workers_.find(pid);
        if (found == workers_.end()) continue;
        if (!WIFEXITED(collected) || WEXITSTATUS(collected) != 0) status = 1;
        workers_.erase(found);
      }
    }
    ::close(ready_write_);
    co_return status;
  }

  void announce(const asio::ip::tcp::endpoint& endpoint) {
    std::string line = "listening on " + endpoint_text(endpoint) + " (" +
                       (serving_.what.empty() ? "" : serving_.what + ", ") +
                       std::to_string(args_.workers) + " workers of " +
                       std::to_string(args_.threads) + " thread" +
                       (args_.threads == 1 ? ")" : "s)");
    if (serving_.listening_on_stderr) {
      std::fprintf(stderr, "uptls %s: %s\n", serving_.command.c_str(), line.c_str());
    } else {
      print_line(line);
    }
  }

  asio::io_context& io_;
  Handler handler_;
  std::string host_;
  std::uint16_t port_;
  ServeOptions options_;
  ServerArgs args_;
  Serving serving_;
  asio::signal_set signals_;
  int ready_write_ = -1;
  std::map<pid_t, Worker> workers_;
  int quick_deaths_ = 0;
};

}  // namespace

asio::awaitable<int> serve_with_workers(Handler handler, std::string host, std::uint16_t port,
                                        ServeOptions options, ServerArgs args, Serving serving) {
  auto executor = co_await asio::this_coro::executor;
  auto& io = asio::query(executor, asio::execution::context);
  Supervisor supervisor(static_cast<asio::io_context&>(io), std::move(handler), std::move(host),
                        port, std::move(options), std::move(args), std::move(serving));
  co_return co_await supervisor.run();
}

}  // namespace uptls::cli
