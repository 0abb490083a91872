// `uptls connect`: standard input and output relayed over a TLS stream, like
// `openssl s_client`, with a scripted plaintext upgrade for line dialogues.

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "commands.hpp"
#include "pingpong.hpp"
#include "tls_options.hpp"
#include "upgrade_options.hpp"
#include "uptls/error.hpp"
#include "uptls/printable.hpp"
#include "uptls/uptls.hpp"

#include <unistd.h>

namespace uptls::cli {
namespace {

using namespace asio::experimental::awaitable_operators;

struct ConnectArgs {
  std::string address;
  ClientTlsArgs tls;
  UpgradeArgs upgrade;
  bool crlf = false;
  double eof_wait = 1;
  bool raw = false;
  bool quiet = false;
};

void note(std::string_view line) {
  std::string safe = escape_nonprintable(line);
  std::fprintf(stderr, "* %s\n", safe.c_str());
}

/// Peer bytes to standard output: as they are into a pipe or a file; on a
/// terminal (unless --raw) with control bytes escaped, line ends kept.
class Output {
 public:
  explicit Output(bool raw) : escape_(!raw && ::isatty(STDOUT_FILENO)) {}

  void write(std::string_view data) {
    if (!escape_) {
      std::fwrite(data.data(), 1, data.size(), stdout);
    } else {
      pending_.append(data);
      std::size_t start = 0;
      for (std::size_t lf; (lf = pending_.find('\n', start)) != std::string::npos; start = lf + 1) {
        std::size_t end = lf > start && pending_[lf - 1] == '\r' ? lf - 1 : lf;
        std::string line =
            escape_nonprintable(std::string_view(pending_).substr(start, end - start));
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
      }
      pending_.erase(0, start);
    }
    std::fflush(stdout);
  }

  void finish() {
    if (escape_ && !pending_.empty()) write("\n");
  }

 private:
  bool escape_;
  std::string pending_;
};

/// Standard input, read on a thread of its own (a file, a pipe or a
/// terminal alike), each chunk written to the stream on its executor; the
/// end of input becomes shutdown_send(). The thread is never joined: it may
/// sit in read() when the peer ends the session. It holds no reference to
/// the stream (the work it posts does, on the stream's executor) and posts
/// nothing once the session is over, before the io_context goes away.
struct InputPump : std::enable_shared_from_this<InputPump> {
  std::weak_ptr<Stream> target;
  asio::any_io_executor executor;
  bool crlf = false;
  std::chrono::milliseconds eof_wait{0};
  // Bytes received so far, counted by the relay on the stream's executor.
  std::uint64_t received = 0;
  std::mutex mutex;
  bool done = false;  // the session is over: post nothing more
  std::uint64_t sent = 0;

  /// Runs fn on the stream's executor and waits; false once the session is over.
  bool on_stream(std::function<asio::awaitable<void>()> fn) {
    std::future<void> finished;
    {
      std::lock_guard lock(mutex);
      if (done) return false;
      finished = asio::co_spawn(executor, fn(), asio::use_future);
    }
    try {
      finished.get();
      return true;
    } catch (...) {
      return false;  // the relay reports the stream's errors
    }
  }

  void run() {
    auto self = shared_from_this();
    char chunk[16384];
    for (;;) {
      ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::string data(chunk, static_cast<std::size_t>(n));
      if (crlf) data = to_crlf(data);
      if (!on_stream([self, data]() -> asio::awaitable<void> {
            if (auto stream = self->target.lock()) {
              co_await stream->write_all(data);
              self->sent += data.size();
            }
          }))
        return;
    }
    on_stream([self]() -> asio::awaitable<void> { co_await self->end_sending(); });
  }

  /// The end of input: a FIN at once in plaintext. In TLS the only end is
  /// close_notify, and some servers (asyncio, openssl s_server) close at
  /// once on it and drop answers not yet written: it goes once the server
  /// has been quiet for eof_wait.
  asio::awaitable<void> end_sending() {
    auto stream = target.lock();
    if (!stream) co_return;
    if (stream->is_tls() && eof_wait.count() > 0) {
      asio::steady_timer timer(executor);
      for (std::uint64_t seen = ~std::uint64_t{0}; seen != received && !over();) {
        seen = received;
        timer.expires_after(eof_wait);
        co_await timer.async_wait(asio::use_awaitable);
      }
      if (over()) co_return;
    }
    co_await stream->shutdown_send();
  }

  static std::string to_crlf(std::string_view data) {
    std::string out;
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) out += '\r';
      out += data[i];
    }
    return out;
  }

  void stop() {
    std::lock_guard lock(mutex);
    done = true;
  }

  bool over() {
    std::lock_guard lock(mutex);
    return done;
  }
};

std::string certificate_summary(const Stream& stream, const ClientTlsArgs& tls,
                                const std::string& name) {
  auto certificate = stream.peer_certificate();
  if (!certificate) return "no server certificate";
  std::string text = "server certificate " + certificate->subject + " (issuer " +
                     certificate->issuer + ", valid until " + certificate->not_after + ")";
  text += tls.insecure ? "; NOT verified (--insecure)" : "; verified for " + name;
  return text;
}

asio::awaitable<int> connect(std::shared_ptr<const ConnectArgs> args) {
  UpgradeArgs upgrade = args->upgrade;
  auto [host, port] = resolve_target(args->address, upgrade);
  ConnectOptions options = connect_options(args->tls);
  bool quiet = args->quiet;
  Say say = [quiet](std::string_view line) {
    if (!quiet) note(line);
  };
  Stream connected = co_await connect_upgraded(host, port, options, upgrade, say);
  auto shared = std::make_shared<Stream>(std::move(connected));
  Stream& stream = *shared;
  std::string name = options.server_name.empty() ? host : options.server_name;
  say(describe_session(stream));
  say(certificate_summary(stream, args->tls, name));

  auto pump = std::make_shared<InputPump>();
  pump->target = shared;
  pump->executor = stream.get_executor();
  // However the session ends, the input thread posts nothing after it.
  struct StopPump {
    std::shared_ptr<InputPump> pump;
    ~StopPump() { pump->stop(); }
  } stop_pump{pump};
  pump->crlf = args->crlf;
  pump->eof_wait = std::chrono::milliseconds(static_cast<long>(args->eof_wait * 1000));
  std::thread([pump] { pump->run(); }).detach();

  Output output(args->raw);
  std::uint64_t received = 0;
  std::string ending;
  int status = 0;
  try {
    std::string buffer(16384, '\0');
    for (;;) {
      std::size_t n = co_await stream.read_some(asio::buffer(buffer));
      if (n == 0) break;
      received += n;
      pump->received = received;
      output.write(std::string_view(buffer).substr(0, n));
    }
    ending = stream.is_tls() ? "the server ended TLS (close_notify)" : "the server closed";
  } catch (const std::system_error& e) {
    ending = e.what();
    status = 1;
  }
  pump->stop();
  output.finish();
  try {
    co_await stream.close();
  } catch (const std::system_error&) {
    stream.abort();  // a write from standard input is still under way
  }
  say(ending + "; " + std::to_string(pump->sent) + " bytes sent, " + std::to_string(received) +
      " received");
  co_return status;
}

}  // namespace

void add_connect_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "connect",
      "Relay standard input and output over TLS (like openssl s_client): implicit TLS, or a "
      "plaintext line first and then the upgrade. The session's steps and summary go to "
      "standard error. Exits 0 when the server ends the session cleanly, 1 on any error.");
  auto args = std::make_shared<ConnectArgs>();
  command->add_option("address", args->address, "HOST:PORT of the server")->required();
  add_upgrade_options(*command, args->upgrade, 300);
  command->add_flag("--opportunistic", args->upgrade.opportunistic,
                    "--starttls: when the server does not offer STARTTLS or refuses it, go on in "
                    "plaintext (with a warning) instead of stopping");
  add_client_tls_options(*command, args->tls);
  command->add_flag("--crlf", args->crlf, "send line ends from standard input as CRLF");
  command
      ->add_option("--eof-wait", args->eof_wait,
                   "SECONDS the server must be quiet after standard input ends before uptls ends "
                   "its sending in TLS (close_notify; some servers close at once on it and drop "
                   "answers not yet sent); 0: at once. In plaintext the end (FIN) goes at once")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_flag("--raw", args->raw,
                    "write the server's bytes to a terminal as they are (by default control "
                    "bytes are escaped on a terminal; pipes and files always get them raw)");
  command->add_flag("--quiet", args->quiet, "no steps or summary on standard error");
  command->footer(
      "Examples:\n"
      "  uptls connect example.org:443 --implicit-tls\n"
      "  printf 'PING\\nQUIT\\n' | uptls connect 127.0.0.1:10443 --implicit-tls --cafile ca.pem "
      "\\\n"
      "      --servername localhost\n"
      "  uptls connect 127.0.0.1:8000 --starttls-line STARTTLS --expect READY --cafile ca.pem \\\n"
      "      --servername localhost\n"
      "  uptls connect smtp://mail.example.org   (EHLO, STARTTLS, EHLO again over TLS)\n"
      "  uptls connect 127.0.0.1:1025 --starttls smtp --cafile ca.pem --servername localhost");
  command->callback([args] { run_command_or_exit("connect", connect(args)); });
}

}  // namespace uptls::cli
