// The load of the proxy benchmark (bench/proxy): clients that reach an
// HTTPS origin through an HTTP proxy's CONNECT (or directly) and send
// keep-alive GETs for small responses. The same client drives every proxy
// (uptls, mitmdump) and the direct run, so only the proxy differs.
//
//   proxy_load --target localhost:PORT --cafile CA [--proxy 127.0.0.1:PORT]
//              [--path /small.bin] [--clients 50] [--seconds 5] [--hold N]
//
// Prints one JSON line: {"requests":N,"seconds":S,"errors":E,"first_error":"..."}.
// --hold N: opens N connections, completes one request on each, prints
// "holding N" and keeps them open until standard input ends.

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "uptls/uptls.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string target_host;
  std::uint16_t target_port = 0;
  std::string proxy_host;
  std::uint16_t proxy_port = 0;
  std::string cafile;
  std::string path = "/small.bin";
  int clients = 50;
  double seconds = 5;
  int hold = 0;
};

struct Totals {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::string first_error;
  int open = 0;
};

std::string json_text(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  return out;
}

std::pair<std::string, std::uint16_t> split(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("HOST:PORT expected: " + text);
  return {text.substr(0, colon), static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1)))};
}

asio::awaitable<uptls::Stream> open(const Args& args,
                                    std::shared_ptr<const uptls::tls::ClientConfig> config) {
  if (args.proxy_port == 0) {
    uptls::ConnectOptions options;
    options.tls = config;
    co_return co_await uptls::open_connection(args.target_host, args.target_port, options);
  }
  uptls::ConnectOptions options;
  options.tls = config;
  options.upgradeable = true;
  options.server_name = args.target_host;
  uptls::Stream stream = co_await uptls::open_connection(args.proxy_host, args.proxy_port, options);
  std::string connect = "CONNECT " + args.target_host + ":" + std::to_string(args.target_port) +
                        " HTTP/1.1\r\nHost: " + args.target_host + "\r\n\r\n";
  co_await stream.write_all(connect);
  std::string head = co_await stream.read_until("\r\n\r\n");
  if (head.rfind("HTTP/1.1 200", 0) != 0 && head.rfind("HTTP/1.0 200", 0) != 0) {
    throw std::runtime_error("CONNECT refused: " + head.substr(0, head.find('\r')));
  }
  co_await stream.start_tls();
  co_return stream;
}

asio::awaitable<void> request(uptls::Stream& stream, const std::string& get) {
  co_await stream.write_all(get);
  std::string head = co_await stream.read_until("\r\n\r\n");
  uptls::http::Response response;
  auto outcome = uptls::http::parse_response(head, response);
  if (outcome.parse != uptls::http::Parse::done || response.status != 200) {
    throw std::runtime_error("bad response: " + head.substr(0, head.find('\r')));
  }
  auto framing = uptls::http::response_framing(response, "GET");
  if (framing.kind != uptls::http::BodyKind::length &&
      framing.kind != uptls::http::BodyKind::none) {
    throw std::runtime_error("the benchmark expects Content-Length responses");
  }
  if (framing.length > 0) co_await stream.read_exactly(framing.length);
}

asio::awaitable<void> client(const Args& args,
                             std::shared_ptr<const uptls::tls::ClientConfig> config,
                             Clock::time_point end, Totals& totals) {
  std::string get = "GET " + args.path + " HTTP/1.1\r\nHost: " + args.target_host + "\r\n\r\n";
  try {
    uptls::Stream stream = co_await open(args, config);
    while (Clock::now() < end) {
      co_await request(stream, get);
      ++totals.requests;
    }
  } catch (const std::exception& e) {
    if (totals.errors++ == 0) totals.first_error = e.what();
  }
}

asio::awaitable<void> holder(const Args& args,
                             std::shared_ptr<const uptls::tls::ClientConfig> config, Totals& totals,
                             std::vector<uptls::Stream>& held) {
  std::string get = "GET " + args.path + " HTTP/1.1\r\nHost: " + args.target_host + "\r\n\r\n";
  try {
    uptls::Stream stream = co_await open(args, config);
    co_await request(stream, get);
    held.push_back(std::move(stream));
  } catch (const std::exception& e) {
    if (totals.errors++ == 0) totals.first_error = e.what();
  }
  ++totals.open;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string name = argv[i];
      if (i + 1 >= argc) throw std::runtime_error(name + " needs a value");
      std::string value = argv[++i];
      if (name == "--target") {
        std::tie(args.target_host, args.target_port) = split(value);
      } else if (name == "--proxy") {
        std::tie(args.proxy_host, args.proxy_port) = split(value);
      } else if (name == "--cafile") {
        args.cafile = value;
      } else if (name == "--path") {
        args.path = value;
      } else if (name == "--clients") {
        args.clients = std::stoi(value);
      } else if (name == "--seconds") {
        args.seconds = std::stod(value);
      } else if (name == "--hold") {
        args.hold = std::stoi(value);
      } else {
        throw std::runtime_error("unknown option " + name);
      }
    }
    if (args.target_port == 0 || args.cafile.empty()) {
      throw std::runtime_error("--target and --cafile are needed");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proxy_load: %s\n", e.what());
    return 2;
  }
  uptls::tls::ClientOptions options;
  options.trust.ca_files = {args.cafile};
  auto config = uptls::tls::ClientConfig::make(options);
  asio::io_context io;
  Totals totals;
  if (args.hold > 0) {
    std::vector<uptls::Stream> held;
    for (int i = 0; i < args.hold; ++i) {
      asio::co_spawn(io, holder(args, config, totals, held), asio::detached);
    }
    while (totals.open < args.hold) io.run_one();
    std::printf("holding %zu\n", held.size());
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    std::printf("{\"held\":%zu,\"errors\":%llu,\"first_error\":\"%s\"}\n", held.size(),
                static_cast<unsigned long long>(totals.errors),
                json_text(totals.first_error).c_str());
    return totals.errors == 0 ? 0 : 1;
  }
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(args.seconds));
  for (int i = 0; i < args.clients; ++i) {
    asio::co_spawn(io, client(args, config, end, totals), asio::detached);
  }
  io.run();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"requests\":%llu,\"seconds\":%.3f,\"errors\":%llu,\"first_error\":\"%s\"}\n",
              static_cast<unsigned long long>(totals.requests), elapsed,
              static_cast<unsigned long long>(totals.errors),
              json_text(totals.first_error).c_str());
  return totals.errors == 0 ? 0 : 1;
}
