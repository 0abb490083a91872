#pragma once
// What both benchmark programs share: the command line, resident memory, the
// watchdog. Each program prints exactly one line, "result <scenario> <value> <unit>".

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

namespace bench {

/// The program name in messages; each program defines it.
extern const char* const program;

constexpr std::size_t kChunk = 64 * 1024;

struct Options {
  std::string scenario;
  std::string cert, key, ca;
  std::uint64_t bytes = 1073741824ULL;
  std::uint64_t sessions = 2000;
  std::uint64_t concurrency = 50;
  std::uint64_t pairs = 1000;
  std::uint64_t timeout = 900;  // watchdog, seconds
  // Every session does a full handshake (no resumption). asio_bench never
  // resumes; uptls resumes by default and turns it off with this.
  bool full_handshakes = false;
  // Threads running the server's io_context (uptls_bench only).
  std::uint64_t server_threads = 1;
};

[[noreturn]] inline void die(const std::string& msg) {
  std::cerr << program << ": " << msg << "\n";
  std::cerr.flush();
  std::_Exit(1);
}

[[noreturn]] inline void usage(const std::string& msg) {
  std::cerr << program << ": " << msg << "\n"
            << "usage: " << program
            << " <bulk|sessions|memory> --cert FILE --key FILE --ca FILE\n"
               "                  [--bytes N] [--sessions N] [--concurrency N] [--pairs N]"
               " [--timeout SECONDS] [--full-handshakes] [--server-threads N]\n";
  std::exit(1);
}

inline std::uint64_t parse_u64(const std::string& name, const std::string& v) {
  try {
    std::size_t pos = 0;
    unsigned long long x = std::stoull(v, &pos, 10);
    if (pos != v.size() || v.empty() || v[0] == '-') throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    usage("invalid value for " + name + ": '" + v + "'");
  }
}

inline Options parse_args(int argc, char** argv) {
  Options o;
  if (argc < 2) usage("missing scenario");
  o.scenario = argv[1];
  if (o.scenario != "bulk" && o.scenario != "sessions" && o.scenario != "memory")
    usage("unknown scenario '" + o.scenario + "'");
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--full-handshakes") {
      o.full_handshakes = true;
      continue;
    }
    std::string v;
    auto eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else {
      if (i + 1 >= argc) usage("missing value for " + a);
      v = argv[++i];
    }
    if (a == "--cert")
      o.cert = v;
    else if (a == "--key")
      o.key = v;
    else if (a == "--ca")
      o.ca = v;
    else if (a == "--bytes")
      o.bytes = parse_u64(a, v);
    else if (a == "--sessions")
      o.sessions = parse_u64(a, v);
    else if (a == "--concurrency")
      o.concurrency = parse_u64(a, v);
    else if (a == "--pairs")
      o.pairs = parse_u64(a, v);
    else if (a == "--server-threads")
      o.server_threads = std::stoull(v);
    else if (a == "--timeout")
      o.timeout = parse_u64(a, v);
    else
      usage("unknown option " + a);
  }
  if (o.cert.empty() || o.key.empty() || o.ca.empty()) usage("--cert, --key and --ca are required");
  if (o.bytes == 0) usage("--bytes must be > 0");
  if (o.sessions == 0) usage("--sessions must be > 0");
  if (o.concurrency == 0) usage("--concurrency must be > 0");
  if (o.pairs == 0) usage("--pairs must be > 0");
  return o;
}

inline void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

inline long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  die("cannot read VmRSS from /proc/self/status");
}

// Every scenario must finish by itself.
inline void start_watchdog(const Options& o) {
  std::thread([secs = o.timeout, sc = o.scenario] {
    std::this_thread::sleep_for(std::chrono::seconds(secs));
    die(sc + ": timed out after " + std::to_string(secs) + " s");
  }).detach();
}

/// The whole program: parses the arguments, raises the descriptor limit,
/// starts the watchdog, runs the scenario asked for and exits.
template <typename Bulk, typename Sessions, typename Memory>
int run(int argc, char** argv, Bulk bulk, Sessions sessions, Memory memory) {
  Options o = parse_args(argc, argv);
  raise_nofile();
  start_watchdog(o);
  try {
    if (o.scenario == "bulk") {
      bulk(o);
    } else if (o.scenario == "sessions") {
      sessions(o);
    } else {
      memory(o);
    }
  } catch (const std::exception& e) {
    die(o.scenario + ": " + e.what());
  }
  // CPU seconds beside wall time: on a shared machine the wall-clock rate
  // moves with the neighbours, the CPU spent per unit of work less so.
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  std::printf("cpu %.3f s\n", seconds(usage.ru_utime) + seconds(usage.ru_stime));
  std::fflush(stdout);
  std::_Exit(0);  // don't race static destruction against the watchdog thread
}

}  // namespace bench
