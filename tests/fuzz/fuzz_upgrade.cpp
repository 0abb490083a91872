// libFuzzer target: the whole upgrade over the in-memory transport.
//
// Byte 0 picks the case:
//  0  a uptls server (plaintext lines, STARTTLS, TLS lines) facing a peer
//     that sends the input, in pieces of the size byte 1 gives: garbage
//     around and instead of STARTTLS, bytes carried over into the handshake,
//     malformed ClientHellos;
//  1  a uptls client (PING, STARTTLS, handshake, PING) facing a server that
//     sends the input: injected go-aheads, bytes after them, malformed
//     server flights;
//  2  a uptls client and server in a whole session, with the fault schedule
//     bytes 1-5 give (a failed operation, a half-close, short reads and
//     writes, a slow reader).
// Any error uptls reports is a fine outcome; a crash, a hang (test::run
// throws after 5 s), any other exception, or a line that arrives changed
// is a finding.

#include <asio/experimental/awaitable_operators.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "uptls/stream.hpp"

namespace {

using asio::awaitable;
using namespace asio::experimental::awaitable_operators;
using uptls::Stream;
using uptls::test::memory_pair;
using uptls::test::MemoryPair;
using uptls::test::pki;

constexpr std::size_t max_line = 256;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

/// Swallows the errors uptls reports; anything else escapes and is a
/// finding. After an error the stream is dropped, as a handler's would be.
awaitable<void> reporting_errors(awaitable<void> body, Stream* stream = nullptr) {
  try {
    co_await std::move(body);
  } catch (const std::system_error&) {
    if (stream) stream->abort();
  }
}

/// The seed server's dialogue, bounded.
awaitable<void> pingpong_server(Stream& stream) {
  for (int i = 0; i < 64; ++i) {
    auto line = co_await stream.read_line(max_line);
    if (!line || *line == "QUIT") break;
    if (*line == "STARTTLS") {
      co_await stream.start_tls();
      continue;
    }
    co_await stream.write_all(*line == "PING" ? "PONG\n" : "ERR\n");
  }
  co_await stream.close();
}

/// The seed client's dialogue; checks nothing of what the server says.
awaitable<void> pingpong_client(Stream& stream) {
  co_await stream.write_all("PING\nSTARTTLS\n");
  co_await stream.read_line(max_line);
  co_await stream.start_tls();
  co_await stream.write_all("PING\n");
  co_await stream.read_line(max_line);
  co_await stream.close();
}

/// A raw peer: sends input in pieces, then ends its side; reads everything.
awaitable<void> raw_peer(uptls::Transport& transport, std::string input) {
  co_await uptls::test::raw_write(transport, std::move(input));
  std::error_code ignored;
  transport.shutdown_send(ignored);
  co_await uptls::test::raw_read_to_end(transport);
}

awaitable<void> against_raw_peer(bool server_role, std::size_t piece, std::string input) {
  uptls::test::Faults faults;
  faults.max_write = piece;
  auto pair = memory_pair(co_await asio::this_coro::executor, faults);
  if (server_role) {
    Stream server(std::move(pair.server), pki().server);
    co_await (reporting_errors(pingpong_server(server), &server) &&
              reporting_errors(raw_peer(*pair.client, input)));
  } else {
    Stream client(std::move(pair.client), pki().client, "localhost");
    co_await (reporting_errors(pingpong_client(client), &client) &&
              reporting_errors(raw_peer(*pair.server, input)));
  }
}

/// Lines that arrive must be the lines sent; an end or an error may come instead.
void expect(const std::optional<std::string>& line, const char* sent) {
  if (!line) throw std::system_error(std::make_error_code(std::errc::connection_aborted));
  require(*line == sent);
}

awaitable<void> whole_session(Stream& client, Stream& server) {
  co_await client.write_all("PING\nSTARTTLS\n");
  expect(co_await server.read_line(max_line), "PING");
  expect(co_await server.read_line(max_line), "STARTTLS");
  // Each side's failure is its own: neither cancels the other.
  co_await (reporting_errors(server.start_tls(), &server) &&
            reporting_errors(client.start_tls(), &client));
  co_await client.write_all("over TLS\n");
  expect(co_await server.read_line(max_line), "over TLS");
  co_await server.write_all("answer\n");
  expect(co_await client.read_line(max_line), "answer");
  co_await (client.close() && server.close());
}

awaitable<void> with_faults(uptls::test::Faults faults) {
  auto pair = memory_pair(co_await asio::this_coro::executor, faults);
  Stream server(std::move(pair.server), pki().server);
  Stream client(std::move(pair.client), pki().client, "localhost");
  co_await reporting_errors(whole_session(client, server));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 2) return 0;
  std::string input(reinterpret_cast<const char*>(bytes) + 2, size - 2);
  std::size_t piece = bytes[1] == 0 ? SIZE_MAX : bytes[1];
  auto limit = std::chrono::seconds(5);
  switch (bytes[0] % 3) {
    case 0:
      uptls::test::run([&] { return against_raw_peer(true, piece, input); }, limit);
      break;
    case 1:
      uptls::test::run([&] { return against_raw_peer(false, piece, input); }, limit);
      break;
    default: {
      if (size < 6) return 0;
      uptls::test::Faults faults;
      faults.fail_at = bytes[1];
      faults.half_close_at = bytes[2];
      faults.max_write = bytes[3] == 0 ? SIZE_MAX : bytes[3];
      faults.max_read = bytes[4] == 0 ? SIZE_MAX : bytes[4];
      faults.capacity = bytes[5] < 16 ? SIZE_MAX : std::size_t{bytes[5]} * 64;
      uptls::test::run([&] { return with_faults(faults); }, limit);
    }
  }
  return 0;
}
