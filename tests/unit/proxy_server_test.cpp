#include <gtest/gtest.h>

#include <asio/ip/tcp.hpp>
#include <string>
#include <vector>

#include "support/support.hpp"
#include "uptls/connect.hpp"
#include "uptls/proxy_protocol.hpp"
#include "uptls/server.hpp"

// A Server behind a load balancer (ServeOptions::accept_proxy): the header
// read first, the client it names seen everywhere, the bytes after it never
// lost, and what the specification forbids refused with a log line.

namespace uptls {
namespace {

using asio::awaitable;
using test::Logged;
using test::pki;
using test::run;
namespace pp = proxy_protocol;

asio::ip::tcp::endpoint at(const char* address, std::uint16_t port) {
  return {asio::ip::make_address(address), port};
}

/// Says who the server sees ("from PEER AUTHORITY"), then echoes lines;
/// "STARTTLS" upgrades.
awaitable<void> announce(Stream stream) {
  const pp::Header* header = stream.transport().proxy_header();
  const pp::Tlv* authority = header ? header->find(pp::tlv::authority) : nullptr;
  std::string line = "from " + stream.peer() + " " + (authority ? authority->value : "-") + "\n";
  co_await stream.write_all(line);
  while (auto got = co_await stream.read_line()) {
    if (*got == "STARTTLS") {
      co_await stream.start_tls();
      continue;
    }
    std::string echo = *got + "\n";
    co_await stream.write_all(echo);
  }
}

awaitable<Server> proxied_server(Logged& logged, ServeOptions options) {
  options.log = [&logged](std::string_view line) { logged.lines.emplace_back(line); };
  Handler handler = announce;
  std::string host = "127.0.0.1";
  co_return co_await start_server(handler, host, 0, options);
}

/// A TCP connection from a loopback address of choice.
awaitable<asio::ip::tcp::socket> connect_from(const char* source, std::uint16_t port) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  socket.open(asio::ip::tcp::v4());
  socket.bind(at(source, 0));
  co_await socket.async_connect(at("127.0.0.1", port), asio::use_awaitable);
  co_return socket;
}

/// The first line the server sends, or nullopt when it ends the connection.
awaitable<std::optional<std::string>> first_line(Stream& stream) {
  try {
    co_return co_await stream.read_line();
  } catch (const std::system_error&) {
    co_return std::nullopt;  // a reset is an end too
  }
}

/// A TCP transport whose first write carries prefix before it: a PROXY
/// header and a ClientHello in one segment, as a load balancer may send them.
class PrefixedTransport final : public Transport {
 public:
  PrefixedTransport(std::unique_ptr<Transport> inner, std::string prefix)
      : inner_(std::move(inner)), prefix_(std::move(prefix)) {}
  std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) noexcept override {
    return inner_->read_some(buffer, ec);
  }
  std::size_t write_some(asio::const_buffer buffer, std::error_code& ec) noexcept override {
    if (prefix_.empty()) return inner_->write_some(buffer, ec);
    std::string both =
        prefix_ + std::string(static_cast<const char*>(buffer.data()), buffer.size());
    std::size_t n = inner_->write_some(asio::buffer(both), ec);
    if (ec || n != both.size()) {
      ec = std::make_error_code(std::errc::io_error);  // loopback takes a few hundred bytes
      return 0;
    }
    prefix_.clear();
    return buffer.size();
  }
  asio::awaitable<WaitResult> wait(Readiness direction) override { return inner_->wait(direction); }
  void cancel() noexcept override { inner_->cancel(); }
  void shutdown_send(std::error_code& ec) noexcept override { inner_->shutdown_send(ec); }
  void close() noexcept override { inner_->close(); }
  bool is_open() const noexcept override { return inner_->is_open(); }
  executor_type get_executor() override { return inner_->get_executor(); }
  std::string peer() const override { return inner_->peer(); }

 private:
  std::unique_ptr<Transport> inner_;
  std::string prefix_;
};

// CPython issue 142352: asyncio's server lost the ClientHello that came in
// the header's segment. Here the handshake reads it, and the handler sees
// the client the header names.
TEST(ProxyServer, AHeaderAndAClientHelloInOneSegmentLoseNothing) {
  run([]() -> awaitable<void> {
    Logged logged;
    ServeOptions options;
    options.tls = pki().server;
    options.accept_proxy = pp::Mode::required;
    Server server = co_await proxied_server(logged, options);
    auto socket = co_await connect_from("127.0.0.1", server.local_endpoint().port());
    std::string header = pp::encode(2, at("203.0.113.7", 4242), at("192.0.2.1", 443),
                                    {{pp::tlv::authority, "mail.example.org"}});
    Stream client(std::make_unique<PrefixedTransport>(tcp_transport(std::move(socket)), header),
                  pki().client, "localhost");
    co_await client.start_tls();
    EXPECT_EQ(co_await first_line(client), "from 203.0.113.7:4242 mail.example.org");
    co_await client.write_all("over TLS\n");
    EXPECT_EQ(co_await first_line(client), "over TLS");
    EXPECT_TRUE(logged.lines.empty()) << logged.text();
    co_await server.stop(std::chrono::milliseconds(100));
  });
}

TEST(ProxyServer, AClientSendsAHeaderAndUpgradesAfterIt) {
  run([]() -> awaitable<void> {
    Logged logged;
    ServeOptions options;
    options.tls = pki().server;
    options.upgradeable = true;
    options.accept_proxy = pp::Mode::optional;
    Server server = co_await proxied_server(logged, options);
    for (int version : {1, 2}) {
      ConnectOptions connect;
      connect.tls = pki().client;
      connect.upgradeable = true;
      connect.server_name = "localhost";
      connect.send_proxy = version;
      connect.send_proxy_source = at("198.51.100.9", static_cast<std::uint16_t>(1000 + version));
      Stream client =
          co_await open_connection("127.0.0.1", server.local_endpoint().port(), connect);
      EXPECT_EQ(co_await first_line(client),
                "from 198.51.100.9:100" + std::to_string(version) + " -");
      co_await client.write_all("plain\nSTARTTLS\n");
      EXPECT_EQ(co_await first_line(client), "plain");
      co_await client.start_tls();
      co_await client.write_all("secret\n");
      EXPECT_EQ(co_await first_line(client), "secret");
      co_await client.close();
    }
    EXPECT_TRUE(logged.lines.empty()) << logged.text();
    co_await server.stop(std::chrono::milliseconds(100));
  });
}

TEST(ProxyServer, RefusesAMissingOrMalformedHeaderAndServesTheNext) {
  run([]() -> awaitable<void> {
    Logged logged;
    ServeOptions options;
    options.accept_proxy = pp::Mode::required;
    Server server = co_await proxied_server(logged, options);
    auto port = server.local_endpoint().port();
    struct Case {
      std::string bytes;
      std::string logged;
    };
    std::vector<Case> cases = {
        {"PING\r\n", "did not begin with a PROXY header"},
        {"PROXY TCP4 203.0.113.7 192.0.2.1 99999 25\r\n", "ports out of range"},
        {"PROXY " + std::string(200, 'x'), "longer than 107 bytes"},
        {std::string("\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff", 16), "bytes (at most 4096)"},
    };
    for (const Case& c : cases) {
      auto socket = co_await connect_from("127.0.0.1", port);
      co_await test::raw_write(socket, c.bytes);
      EXPECT_EQ(co_await test::raw_read_to_end(socket), "") << c.logged;
      EXPECT_TRUE(logged.contains(c.logged)) << logged.text();
    }
    auto good = co_await connect_from("127.0.0.1", port);
    co_await test::raw_write(good, pp::encode(1, at("203.0.113.8", 5), at("192.0.2.1", 25)));
    Stream served(std::move(good), Role::client);
    EXPECT_EQ(co_await first_line(served), "from 203.0.113.8:5 -");
    co_await server.stop(std::chrono::milliseconds(100));
  });
}

TEST(ProxyServer, OnlyTrustedSourcesMayNameAClient) {
  run([]() -> awaitable<void> {
    for (pp::Mode mode : {pp::Mode::required, pp::Mode::optional}) {
      Logged logged;
      ServeOptions options;
      options.accept_proxy = mode;
      options.proxy_from = {pp::parse_network("127.0.0.2/32")};
      Server server = co_await proxied_server(logged, options);
      auto port = server.local_endpoint().port();
      std::string header = pp::encode(2, at("203.0.113.7", 1), at("192.0.2.1", 25));

      auto trusted = co_await connect_from("127.0.0.2", port);
      co_await test::raw_write(trusted, header);
      Stream from_balancer(std::move(trusted), Role::client);
      EXPECT_EQ(co_await first_line(from_balancer), "from 203.0.113.7:1 -");

      // A client that names itself is not believed: refused where a header
      // is required, served as it is where it is optional.
      auto forged = co_await connect_from("127.0.0.1", port);
      co_await test::raw_write(forged, header);
      Stream forged_stream(std::move(forged), Role::client);
      auto greeting = co_await first_line(forged_stream);
      if (mode == pp::Mode::optional) {
        EXPECT_TRUE(greeting.value_or("").starts_with("from 127.0.0.1:")) << greeting.value_or("");
      } else {
        EXPECT_FALSE(greeting.has_value());
        EXPECT_TRUE(logged.contains("127.0.0.1")) << logged.text();
        EXPECT_TRUE(logged.contains("not trusted to proxy")) << logged.text();
      }
      co_await server.stop(std::chrono::milliseconds(100));
    }
  });
}

TEST(ProxyServer, PerAddressLimitCountsTheClientTheHeaderNames) {
  run([]() -> awaitable<void> {
    Logged logged;
    ServeOptions options;
    options.accept_proxy = pp::Mode::required;
    options.max_per_address = 1;
    Server server = co_await proxied_server(logged, options);
    auto port = server.local_endpoint().port();
    auto from = [&](const char* client) -> awaitable<Stream> {
      auto socket = co_await connect_from("127.0.0.1", port);
      co_await test::raw_write(socket, pp::encode(1, at(client, 7), at("192.0.2.1", 25)));
      co_return Stream(std::move(socket), Role::client);
    };
    Stream first = co_await from("203.0.113.1");
    EXPECT_EQ(co_await first_line(first), "from 203.0.113.1:7 -");
    Stream again = co_await from("203.0.113.1");
    EXPECT_EQ(co_await first_line(again), std::nullopt) << "a second from 203.0.113.1";
    Stream other = co_await from("203.0.113.2");
    EXPECT_EQ(co_await first_line(other), "from 203.0.113.2:7 -");
    co_await server.stop(std::chrono::milliseconds(100));
  });
}

TEST(ProxyServer, OptionalServesAClientThatWaitsForTheGreeting) {
  run([]() -> awaitable<void> {
    Logged logged;
    ServeOptions options;
    options.accept_proxy = pp::Mode::optional;
    options.proxy_timeout = std::chrono::milliseconds(200);
    Server server = co_await proxied_server(logged, options);
    auto port = server.local_endpoint().port();
    // It sends nothing: after proxy_timeout it is served as it is.
    Stream waiting(co_await connect_from("127.0.0.1", port), Role::client);
    auto greeting = co_await first_line(waiting);
    EXPECT_TRUE(greeting.value_or("").starts_with("from 127.0.0.1:")) << greeting.value_or("");

    // A header cut short is not a header: refused, once the time is up.
    auto partial = co_await connect_from("127.0.0.1", port);
    co_await test::raw_write(partial, "PROXY TCP4 203.0.113.7");
    EXPECT_EQ(co_await test::raw_read_to_end(partial), "");
    EXPECT_TRUE(logged.contains("no complete PROXY header")) << logged.text();

    // A health check that connects and leaves is not news.
    std::size_t before = logged.lines.size();
    { auto check = co_await connect_from("127.0.0.1", port); }
    Stream after(co_await connect_from("127.0.0.1", port), Role::client);
    co_await after.write_all("PING\n");
    auto served = co_await first_line(after);
    EXPECT_TRUE(served.value_or("").starts_with("from 127.0.0.1:")) << served.value_or("");
    EXPECT_EQ(logged.lines.size(), before) << logged.text();
    co_await server.stop(std::chrono::milliseconds(100));
  });
}

}  // namespace
}  // namespace uptls
