#include "proxy/message.hpp"

#include <gtest/gtest.h>

#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "uptls/error.hpp"

// The heads a proxy reads and writes: what the origin is sent (for
// forwarding and interception alike), and the bounds on what it reads.

namespace uptls::proxy {
namespace {

http::Request parsed(const std::string& head) {
  http::Request request;
  http::Outcome outcome = http::parse_request(head, request, http::Limits());
  EXPECT_EQ(outcome.parse, http::Parse::done) << outcome.message;
  return request;
}

std::string to_origin(const std::string& head, std::string_view path, std::string_view host) {
  http::Request request = parsed(head);
  return origin_head(request, path, host, http::request_framing(request));
}

TEST(ProxyOriginHead, TheProxysOwnAndThisHopsFieldsStayBehind) {
  std::string sent = to_origin(
      "GET http://example.com/a HTTP/1.1\r\nHost: other.example\r\n"
      "Proxy-Authorization: Basic eDp5\r\nProxy-Connection: keep-alive\r\n"
      "Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: 5\r\n"
      "Accept: */*\r\n\r\n",
      "/a", "example.com");
  EXPECT_EQ(sent, "GET /a HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
}

TEST(ProxyOriginHead, TheBodyIsFramedAsTheProxyCopiesIt) {
  EXPECT_EQ(to_origin("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", "/", "h"),
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(to_origin("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n",
                      "/", "h"),
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  EXPECT_EQ(to_origin("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "/", "h"),
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
}

TEST(ProxyOriginHead, FramingNamedInConnectionIsRefusedBeforeAnyHeadIsMade) {
  // Dropping Content-Length as a hop-by-hop field while the body still
  // goes up is request smuggling: the request is refused as it is read.
  http::Request request = parsed(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: Content-Length\r\n\r\n");
  EXPECT_THROW(http::request_framing(request), Error);
}

TEST(ProxyOriginHead, ConnectionOptionsAreTheProxysOwn) {
  EXPECT_EQ(to_origin("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "/", "h"),
            "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(
      to_origin("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                "/", "h"),
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
  EXPECT_EQ(to_origin("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "/", "h"),
            "GET / HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(to_origin("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n", "/", "h"),
            "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
      << "upgrade without an Upgrade field is no option to pass on";
}

TEST(ProxyResponse, ProxysOwnResponsesAreFramedAndHeadLeavesTheBodyOut) {
  EXPECT_EQ(make_response(403, "no\n", true),
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\nConnection: close\r\n\r\nno\n");
  EXPECT_EQ(make_response(200, "body", false, "X: 1\r\n", true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 4\r\nX: 1\r\n\r\n");
}

using test::memory_pair;
using test::run;

TEST(ProxyReadHead, TheHeadEndsAtItsEmptyLineAndTheBodyStays) {
  run([]() -> asio::awaitable<void> {
    auto pair = memory_pair(co_await asio::this_coro::executor);
    Stream server(std::move(pair.server), Role::server);
    co_await test::raw_write(*pair.client, "\r\nGET / HTTP/1.1\nHost: h\r\n\r\nBODY");
    std::string head = co_await read_head(server, http::Limits(), true);
    EXPECT_EQ(head, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    char rest[4];
    std::size_t n = co_await server.read_some(asio::buffer(rest));
    EXPECT_EQ(std::string(rest, n), "BODY");
  });
}

TEST(ProxyReadHead, TooManyFieldsOrAnUnfinishedHeadAreErrors) {
  run([]() -> asio::awaitable<void> {
    auto pair = memory_pair(co_await asio::this_coro::executor);
    Stream server(std::move(pair.server), Role::server);
    http::Limits limits;
    limits.max_fields = 3;
    co_await test::raw_write(*pair.client, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n");
    test::Caught big = co_await test::caught(read_head(server, limits, true));
    EXPECT_EQ(big.code, errc::line_too_long) << big.message;

    auto second = memory_pair(co_await asio::this_coro::executor);
    Stream cut(std::move(second.server), Role::server);
    co_await test::raw_write(*second.client, "GET / HTTP/1.1\r\nHost: h\r\n");
    std::error_code ignored;
    second.client->shutdown_send(ignored);
    test::Caught unfinished = co_await test::caught(read_head(cut, http::Limits(), true));
    EXPECT_EQ(unfinished.code, errc::unexpected_eof) << unfinished.message;
  });
}

}  // namespace
}  // namespace uptls::proxy
