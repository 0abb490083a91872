#include "uptls/http.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "uptls/error.hpp"

namespace uptls::http {
namespace {

using namespace std::string_literals;

// What curl 8 sends for `curl http://example.com/index.html`.
const std::string curl_get =
    "GET /index.html HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "User-Agent: curl/8.5.0\r\n"
    "Accept: */*\r\n"
    "\r\n";

// What curl 8 sends to a proxy for `curl -p -x proxy https://example.com`.
const std::string connect_head =
    "CONNECT example.com:443 HTTP/1.1\r\n"
    "Host: example.com:443\r\n"
    "User-Agent: curl/8.5.0\r\n"
    "Proxy-Connection: Keep-Alive\r\n"
    "\r\n";

const std::string ok_head =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 5\r\n"
    "\r\n";

/// Parses a request head that must be complete.
Request request_of(const std::string& head) {
  Request request;
  Outcome outcome = parse_request(head, request);
  EXPECT_EQ(outcome.parse, Parse::done) << head << outcome.message;
  EXPECT_EQ(outcome.consumed, head.size());
  return request;
}

/// Parses a response head that must be complete.
Response response_of(const std::string& head) {
  Response response;
  Outcome outcome = parse_response(head, response);
  EXPECT_EQ(outcome.parse, Parse::done) << head << outcome.message;
  EXPECT_EQ(outcome.consumed, head.size());
  return response;
}

/// The error a framing call throws, or a failure if it returns.
template <typename Call>
void expect_refused(Call call, const std::string& what) {
  try {
    call();
    ADD_FAILURE() << "accepted: " << what;
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), make_error_code(errc::protocol_error)) << what;
    EXPECT_STRNE(error.what(), "") << what;
  }
}

TEST(HttpRequest, ParsesACurlGet) {
  Request request;
  std::string bytes = curl_get + "next bytes";
  Outcome outcome = parse_request(bytes, request);
  ASSERT_EQ(outcome.parse, Parse::done) << outcome.message;
  EXPECT_EQ(outcome.consumed, curl_get.size()) << "the bytes after the head are not taken";
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/index.html");
  EXPECT_EQ(request.minor_version, 1);
  ASSERT_EQ(request.fields.list.size(), 3u);
  EXPECT_EQ(request.fields.list[0].name, "Host");
  EXPECT_EQ(request.fields.list[0].value, "example.com");
  EXPECT_EQ(request.fields.list[1].name, "User-Agent");
  EXPECT_EQ(request.fields.list[1].value, "curl/8.5.0");
  EXPECT_EQ(request.fields.list[2].name, "Accept");
  EXPECT_EQ(request.fields.list[2].value, "*/*");
  EXPECT_EQ(request.fields.find("host"), "example.com") << "names are case-insensitive";
  EXPECT_EQ(request.fields.find("Cookie"), std::nullopt);
}

TEST(HttpRequest, ParsesAConnectHeadAndLeavesThePipelinedClientHello) {
  Request request;
  std::string bytes = connect_head + "\x16\x03\x01\x02\x00\x01"s;
  Outcome outcome = parse_request(bytes, request);
  ASSERT_EQ(outcome.parse, Parse::done) << outcome.message;
  EXPECT_EQ(outcome.consumed, connect_head.size());
  EXPECT_EQ(request.method, "CONNECT");
  EXPECT_EQ(request.target, "example.com:443");
  EXPECT_EQ(request.minor_version, 1);
  ASSERT_EQ(request.fields.list.size(), 3u);
  EXPECT_EQ(request.fields.find("proxy-connection"), "Keep-Alive");
}

TEST(HttpRequest, ParsesHttp10AndTrimsValues) {
  Request request =
      request_of("GET http://a/ HTTP/1.0\r\nX-Pad: \t padded value \t\r\nEmpty:\r\n\r\n");
  EXPECT_EQ(request.minor_version, 0);
  EXPECT_EQ(request.target, "http://a/");
  EXPECT_EQ(request.fields.find("x-pad"), "padded value");
  EXPECT_EQ(request.fields.find("empty"), "");
}

TEST(HttpRequest, EveryStrictPrefixOfAHeadNeedsMore) {
  for (const std::string& head : {curl_get, connect_head}) {
    for (std::size_t n = 0; n < head.size(); ++n) {
      Request request;
      Outcome outcome = parse_request(std::string_view(head).substr(0, n), request);
      EXPECT_EQ(outcome.parse, Parse::need_more) << n << " bytes of " << head;
    }
  }
}

TEST(HttpRequest, BareLfLineEndsAreAccepted) {
  std::string head = "GET / HTTP/1.1\nHost: a\r\nAccept: */*\n\n";
  Request request;
  Outcome outcome = parse_request(head + "rest", request);
  ASSERT_EQ(outcome.parse, Parse::done) << outcome.message;
  EXPECT_EQ(outcome.consumed, head.size());
  EXPECT_EQ(request.target, "/");
  ASSERT_EQ(request.fields.list.size(), 2u);
  EXPECT_EQ(request.fields.list[0].value, "a") << "no CR left on the value";
}

TEST(HttpRequest, LeadingEmptyLinesAreSkipped) {
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
  std::string bytes = "\r\n\n\r\n" + curl_get;
  Request request;
  Outcome outcome = parse_request(bytes, request);
  ASSERT_EQ(outcome.parse, Parse::done) << outcome.message;
  EXPECT_EQ(outcome.consumed, bytes.size());
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(parse_request("\r\n\r\n", request).parse, Parse::need_more);
}

TEST(HttpRequest, MalformedHeadsAreInvalidAndSayWhy) {
  const std::vector<std::string> heads = {
      "GET /a\rb HTTP/1.1\r\n\r\n",             // bare CR in the request line
      "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",   // bare CR in a field line
      "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",   // obs-fold
      "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",  // obs-fold with a tab
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",     // space before the colon
      "GET / HTTP/1.1\r\nHost a\r\n\r\n",       // no colon
      "GET / HTTP/1.1\r\n: a\r\n\r\n",          // empty name
      "GET / HTTP/2.0\r\n\r\n",                 // not HTTP/1.x
      "GET / HTTP/1\r\n\r\n",                   // no minor version
      "GET / http/1.1\r\n\r\n",                 // the name is case-sensitive
      "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n",    // control character in a value
      "GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n",    // DEL in a value
      "GET / HTTP/1.1\r\nX: a\0z\r\n\r\n"s,     // NUL in a value
      "GET /\r\n\r\n",                          // two parts
      "GET / HTTP/1.1 extra\r\n\r\n",           // four parts
      "GET  / HTTP/1.1\r\n\r\n",                // empty target
      "G(T / HTTP/1.1\r\n\r\n",                 // the method is not a token
      "GET /a\tb HTTP/1.1\r\n\r\n",             // a tab in the target
  };
  for (const std::string& head : heads) {
    Request request;
    Outcome outcome = parse_request(head, request);
    EXPECT_EQ(outcome.parse, Parse::invalid) << head;
    EXPECT_FALSE(outcome.message.empty()) << head;
  }
}

TEST(HttpRequest, LimitsMakeHeadsTooLarge) {
  Limits limits;
  limits.max_line = 20;
  Request request;
  // "X: " and 17 bytes: exactly 20, the CRLF not counted.
  std::string at_limit = "GET / HTTP/1.1\r\nX: 12345678901234567\r\n\r\n";
  EXPECT_EQ(parse_request(at_limit, request, limits).parse, Parse::done);
  std::string over = "GET / HTTP/1.1\r\nX: 123456789012345678\r\n\r\n";
  Outcome outcome = parse_request(over, request, limits);
  EXPECT_EQ(outcome.parse, Parse::too_large);
  EXPECT_FALSE(outcome.message.empty());
  // Known before the line ends: a client cannot make the parser wait forever.
  outcome = parse_request("GET /" + std::string(30, 'x'), request, limits);
  EXPECT_EQ(outcome.parse, Parse::too_large);

  limits = Limits();
  limits.max_head = curl_get.size();
  EXPECT_EQ(parse_request(curl_get, request, limits).parse, Parse::done);
  limits.max_head = curl_get.size() - 1;
  outcome = parse_request(curl_get, request, limits);
  EXPECT_EQ(outcome.parse, Parse::too_large);
  EXPECT_FALSE(outcome.message.empty());
  limits.max_head = 40;
  outcome = parse_request(curl_get.substr(0, 41), request, limits);
  EXPECT_EQ(outcome.parse, Parse::too_large) << "known before the head ends";
  limits.max_head = 64;
  outcome = parse_request(std::string(100, '\n'), request, limits);
  EXPECT_EQ(outcome.parse, Parse::too_large) << "skipped empty lines count";

  limits = Limits();
  limits.max_fields = 3;
  EXPECT_EQ(parse_request(curl_get, request, limits).parse, Parse::done);
  limits.max_fields = 2;
  outcome = parse_request(curl_get, request, limits);
  EXPECT_EQ(outcome.parse, Parse::too_large);
  EXPECT_FALSE(outcome.message.empty());
}

TEST(HttpRequest, AnyLimitIsSafe) {
  Limits unlimited;
  unlimited.max_line = std::numeric_limits<std::size_t>::max();
  unlimited.max_head = std::numeric_limits<std::size_t>::max();
  unlimited.max_fields = std::numeric_limits<std::size_t>::max();
  Request request;
  EXPECT_EQ(parse_request("GET / HT", request, unlimited).parse, Parse::need_more);
  EXPECT_EQ(parse_request(curl_get, request, unlimited).parse, Parse::done);
  ChunkedScanner scanner(unlimited);
  EXPECT_EQ(scanner.feed("5;ext").parse, Parse::need_more);
  EXPECT_EQ(scanner.feed("\r\nhello\r\n0\r\n\r\n").parse, Parse::done);
}

TEST(HttpResponse, ParsesStatusLines) {
  Response response;
  Outcome outcome = parse_response(ok_head + "hello", response);
  ASSERT_EQ(outcome.parse, Parse::done) << outcome.message;
  EXPECT_EQ(outcome.consumed, ok_head.size());
  EXPECT_EQ(response.minor_version, 1);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.reason, "OK");
  EXPECT_EQ(response.fields.find("content-length"), "5");

  response = response_of("HTTP/1.1 200\r\n\r\n");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.reason, "") << "the reason phrase may be left out";
  response = response_of("HTTP/1.1 204 \r\n\r\n");
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(response.reason, "");
  response = response_of("HTTP/1.0 500 Internal Server Error\nServer: x\n\n");
  EXPECT_EQ(response.minor_version, 0);
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.reason, "Internal Server Error");
  response = response_of("HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(response.status, 100);
  response = response_of("HTTP/1.1 599 x\r\n\r\n");
  EXPECT_EQ(response.status, 599);
}

TEST(HttpResponse, EveryStrictPrefixOfAHeadNeedsMore) {
  for (std::size_t n = 0; n < ok_head.size(); ++n) {
    Response response;
    EXPECT_EQ(parse_response(std::string_view(ok_head).substr(0, n), response).parse,
              Parse::need_more)
        << n;
  }
}

TEST(HttpResponse, MalformedStatusLinesAreInvalid) {
  const std::vector<std::string> heads = {
      "HTTP/1.1 99 Low\r\n\r\n",
      "HTTP/1.1 099 Low\r\n\r\n",
      "HTTP/1.1 600 High\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "HTTP/1.1 -20 OK\r\n\r\n",
      "HTTP/1.1  200 OK\r\n\r\n",
      "HTTP/1.1 OK\r\n\r\n",
      "HTTP/2.0 200 OK\r\n\r\n",
      "HTTP/1 200 OK\r\n\r\n",
      "http/1.1 200 OK\r\n\r\n",
      "HTTP/1.1\r\n\r\n",
      "\r\nHTTP/1.1 200 OK\r\n\r\n",  // no empty lines before
      "HTTP/1.1 200 OK\r\nX : y\r\n\r\n",
  };
  for (const std::string& head : heads) {
    Response response;
    Outcome outcome = parse_response(head, response);
    EXPECT_EQ(outcome.parse, Parse::invalid) << head;
    EXPECT_FALSE(outcome.message.empty()) << head;
  }
}

TEST(HttpRequestFraming, NoBodyContentLengthOrChunked) {
  Framing framing = request_framing(request_of(curl_get));
  EXPECT_EQ(framing.kind, BodyKind::none);
  framing = request_framing(request_of("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_EQ(framing.kind, BodyKind::none);
  framing = request_framing(request_of("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"));
  EXPECT_EQ(framing.kind, BodyKind::length);
  EXPECT_EQ(framing.length, 12u);
  framing = request_framing(request_of("POST / HTTP/1.1\r\ncontent-length: 12\r\n\r\n"));
  EXPECT_EQ(framing.kind, BodyKind::length) << "names are case-insensitive";
  framing = request_framing(request_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
  EXPECT_EQ(framing.kind, BodyKind::chunked);
  framing =
      request_framing(request_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"));
  EXPECT_EQ(framing.kind, BodyKind::chunked);
  framing = request_framing(request_of(
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"));
  EXPECT_EQ(framing.kind, BodyKind::chunked) << "the codings of both lines, chunked last";
}

TEST(HttpRequestFraming, IdenticalRepeatedContentLengthIsOneLength) {
  // RFC 9110 §8.6: a list of identical values may be taken as that value.
  Framing framing = request_framing(request_of("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"));
  EXPECT_EQ(framing.kind, BodyKind::length);
  EXPECT_EQ(framing.length, 5u);
  framing = request_framing(
      request_of("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"));
  EXPECT_EQ(framing.kind, BodyKind::length);
  EXPECT_EQ(framing.length, 5u);
}

TEST(HttpRequestFraming, SmugglingShapesAreRefused) {
  const std::vector<std::string> heads = {
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5,,5\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nConnection: Content-Length\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close, "
      "transfer-encoding\r\n\r\n",
      "GET / HTTP/1.1\r\nConnection: content-length\r\n\r\n",
  };
  for (const std::string& head : heads) {
    Request request = request_of(head);
    expect_refused([&] { request_framing(request); }, head);
  }
}

TEST(HttpResponseFraming, ResponsesWithoutABody) {
  Response with_length = response_of("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  EXPECT_EQ(response_framing(with_length, "HEAD").kind, BodyKind::none);
  EXPECT_EQ(response_framing(with_length, "CONNECT").kind, BodyKind::none);
  EXPECT_EQ(response_framing(response_of("HTTP/1.1 100 Continue\r\n\r\n"), "GET").kind,
            BodyKind::none);
  EXPECT_EQ(response_framing(response_of("HTTP/1.1 101 Switching Protocols\r\n\r\n"), "GET").kind,
            BodyKind::none);
  EXPECT_EQ(response_framing(response_of("HTTP/1.1 204 No Content\r\n\r\n"), "GET").kind,
            BodyKind::none);
  EXPECT_EQ(response_framing(response_of("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
                             "GET")
                .kind,
            BodyKind::none);
  EXPECT_EQ(
      response_framing(response_of("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), "GET").kind,
      BodyKind::none);
}

TEST(HttpResponseFraming, LengthChunkedAndUntilClose) {
  Response with_length = response_of("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  Framing framing = response_framing(with_length, "GET");
  EXPECT_EQ(framing.kind, BodyKind::length);
  EXPECT_EQ(framing.length, 10u);
  Response refused = response_of(
      "HTTP/1.1 407 Proxy Authentication Required\r\n"
      "Content-Length: 10\r\n\r\n");
  framing = response_framing(refused, "CONNECT");
  EXPECT_EQ(framing.kind, BodyKind::length) << "a refused CONNECT has a body";
  EXPECT_EQ(response_framing(response_of("HTTP/1.1 200 OK\r\n\r\n"), "GET").kind,
            BodyKind::until_close);
  EXPECT_EQ(
      response_framing(response_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), "GET")
          .kind,
      BodyKind::until_close);
  EXPECT_EQ(
      response_framing(response_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), "GET")
          .kind,
      BodyKind::chunked);
}

TEST(HttpResponseFraming, ConflictingFramingIsRefused) {
  Response both =
      response_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
  expect_refused([&] { response_framing(both, "GET"); }, "TE and CL");
  Response two = response_of("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
  expect_refused([&] { response_framing(two, "GET"); }, "two lengths");
  Response bad = response_of("HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\n");
  expect_refused([&] { response_framing(bad, "GET"); }, "not a number");
}

TEST(HttpKeepsAlive, VersionsAndConnectionTokens) {
  Framing length;
  length.kind = BodyKind::length;
  length.length = 5;
  Request get11 = request_of("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Response ok11 = response_of(ok_head);
  EXPECT_TRUE(keeps_alive(get11, ok11, length));

  Request close11 = request_of("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(keeps_alive(close11, ok11, length));
  Response closing = response_of("HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n");
  EXPECT_FALSE(keeps_alive(get11, closing, length));

  Request get10 = request_of("GET / HTTP/1.0\r\n\r\n");
  Response ok10 = response_of("HTTP/1.0 200 OK\r\n\r\n");
  EXPECT_FALSE(keeps_alive(get10, ok11, length));
  EXPECT_FALSE(keeps_alive(get11, ok10, length));
  Request alive10 = request_of("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  Response alive_ok10 = response_of("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(keeps_alive(alive10, alive_ok10, length));
  EXPECT_FALSE(keeps_alive(alive10, ok10, length));

  Framing until_close;
  until_close.kind = BodyKind::until_close;
  EXPECT_FALSE(keeps_alive(get11, ok11, until_close)) << "the body's end is the connection's";
  Framing none;
  EXPECT_TRUE(keeps_alive(get11, ok11, none));
}

TEST(HttpFields, HasTokenLooksAtEveryLineInAnyCase) {
  Request request = request_of(
      "GET / HTTP/1.1\r\n"
      "Connection: keep-alive, Upgrade\r\n"
      "Upgrade: websocket\r\n"
      "connection: TE ,  Close\r\n"
      "\r\n");
  const Fields& fields = request.fields;
  EXPECT_TRUE(fields.has_token("Connection", "upgrade"));
  EXPECT_TRUE(fields.has_token("CONNECTION", "Keep-Alive"));
  EXPECT_TRUE(fields.has_token("connection", "te")) << "the second line counts";
  EXPECT_TRUE(fields.has_token("Connection", "close"))
      << "spaces around a token are not part of it";
  EXPECT_FALSE(fields.has_token("Connection", "keep")) << "whole tokens only";
  EXPECT_FALSE(fields.has_token("Connection", "websocket")) << "another field's value";
  EXPECT_FALSE(fields.has_token("Proxy-Connection", "close"));
  EXPECT_EQ(fields.find("connection"), "keep-alive, Upgrade") << "find gives the first line";
}

// A chunked body as RFC 9112 §7.1 has it: extensions, a last chunk, a trailer.
const std::string chunked_body =
    "5;name=value\r\n"
    "hello\r\n"
    "6 ; quoted=\"a b\"\r\n"
    " world\r\n"
    "0\r\n"
    "Expires: never\r\n"
    "X-Checksum: abc\r\n"
    "\r\n";

TEST(HttpChunked, FindsTheEndOfAWholeBody) {
  ChunkedScanner scanner;
  std::string bytes = chunked_body + "GET /next HTTP/1.1\r\n\r\n";
  Outcome outcome = scanner.feed(bytes);
  ASSERT_EQ(outcome.parse, Parse::done) << outcome.message;
  EXPECT_EQ(outcome.consumed, chunked_body.size()) << "the next message is not the body's";
  EXPECT_EQ(scanner.payload(), 11u);
  EXPECT_EQ(scanner.data_remaining(), 0u);
  outcome = scanner.feed("more");
  EXPECT_EQ(outcome.parse, Parse::done);
  EXPECT_EQ(outcome.consumed, 0u) << "nothing more belongs to an ended body";
}

TEST(HttpChunked, OneByteAtATimeGivesTheSameResult) {
  ChunkedScanner scanner;
  std::string bytes = chunked_body + "NEXT";
  std::size_t fed = 0;
  Outcome outcome;
  for (char c : bytes) {
    outcome = scanner.feed(std::string_view(&c, 1));
    if (outcome.parse != Parse::need_more) break;
    EXPECT_EQ(outcome.consumed, 1u);
    ++fed;
  }
  ASSERT_EQ(outcome.parse, Parse::done) << outcome.message;
  EXPECT_EQ(fed + outcome.consumed, chunked_body.size());
  EXPECT_EQ(scanner.payload(), 11u);
}

TEST(HttpChunked, BareLfLinesAndNoTrailer) {
  ChunkedScanner scanner;
  std::string body = "3\nabc\n0\n\n";
  Outcome outcome = scanner.feed(body + "x");
  ASSERT_EQ(outcome.parse, Parse::done) << outcome.message;
  EXPECT_EQ(outcome.consumed, body.size());
  EXPECT_EQ(scanner.payload(), 3u);
}

TEST(HttpChunked, DataRemainingCountsTheChunkDataLeft) {
  ChunkedScanner scanner;
  EXPECT_EQ(scanner.data_remaining(), 0u) << "a size line comes first";
  EXPECT_EQ(scanner.feed("A").parse, Parse::need_more);
  EXPECT_EQ(scanner.data_remaining(), 0u);
  EXPECT_EQ(scanner.feed("\r\n").parse, Parse::need_more);
  EXPECT_EQ(scanner.data_remaining(), 10u);
  EXPECT_EQ(scanner.feed("01234").parse, Parse::need_more);
  EXPECT_EQ(scanner.data_remaining(), 5u);
  EXPECT_EQ(scanner.payload(), 5u);
  EXPECT_EQ(scanner.feed("56789").parse, Parse::need_more);
  EXPECT_EQ(scanner.data_remaining(), 0u) << "the line end after the data comes next";
  EXPECT_EQ(scanner.feed("\r\n0\r\n").parse, Parse::need_more);
  EXPECT_EQ(scanner.data_remaining(), 0u) << "a trailer comes next";
  EXPECT_EQ(scanner.feed("\r\n").parse, Parse::done);
  EXPECT_EQ(scanner.payload(), 10u);

  ChunkedScanner large;
  EXPECT_EQ(large.feed("fffffffffffffff\r\n").parse, Parse::need_more);
  EXPECT_EQ(large.data_remaining(), 0xfffffffffffffffu) << "15 hex digits are allowed";
}

TEST(HttpChunked, MalformedBodiesAreInvalid) {
  const std::vector<std::string> bodies = {
      "x\r\n",                  // not hex
      "\r\n",                   // no size
      " 5\r\n",                 // space before the size
      "5x\r\n",                 // not hex after the size
      "-5\r\n",                 // negative
      "5\rx\r\nhello\r\n",      // bare CR in the size line
      "3\r\nabcd\r\n",          // data longer than its size
      "3\r\nabc0\r\n\r\n",      // no line end after the data
      "0\r\nno colon\r\n\r\n",  // a trailer line that is not a field
      "0\r\n folded: x\r\n\r\n",
  };
  for (const std::string& body : bodies) {
    ChunkedScanner scanner;
    Outcome outcome = scanner.feed(body);
    EXPECT_EQ(outcome.parse, Parse::invalid) << body;
    EXPECT_FALSE(outcome.message.empty()) << body;
  }
}

TEST(HttpChunked, LimitsMakeBodiesTooLarge) {
  ChunkedScanner digits;
  Outcome outcome = digits.feed("1000000000000000\r\n");
  EXPECT_EQ(outcome.parse, Parse::too_large) << "over 15 hex digits";
  EXPECT_FALSE(outcome.message.empty());

  Limits limits;
  limits.max_fields = 2;
  ChunkedScanner two(limits);
  EXPECT_EQ(two.feed("0\r\nA: 1\r\nB: 2\r\n\r\n").parse, Parse::done);
  ChunkedScanner three(limits);
  outcome = three.feed("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
  EXPECT_EQ(outcome.parse, Parse::too_large) << "more trailer fields than max_fields";
  EXPECT_FALSE(outcome.message.empty());

  // max_line counts a line without its CRLF, as for heads.
  limits = Limits();
  limits.max_line = 10;
  ChunkedScanner at_limit(limits);
  EXPECT_EQ(at_limit.feed("1;abcdefgh\r\nx\r\n0\r\n\r\n").parse, Parse::done);
  ChunkedScanner over(limits);
  EXPECT_EQ(over.feed("1;abcdefghi\r\n").parse, Parse::too_large);
  ChunkedScanner over_lf(limits);
  EXPECT_EQ(over_lf.feed("1;abcdefghi\n").parse, Parse::too_large);
  ChunkedScanner unended(limits);
  EXPECT_EQ(unended.feed("1;abcdefghijkl").parse, Parse::too_large) << "known before the line ends";
}

TEST(HttpChunked, FeedingAfterAFailureStaysFailed) {
  ChunkedScanner scanner;
  Outcome failed = scanner.feed("zz\r\n");
  ASSERT_EQ(failed.parse, Parse::invalid);
  Outcome again = scanner.feed("0\r\n\r\n");
  EXPECT_EQ(again.parse, Parse::invalid);
  EXPECT_EQ(again.message, failed.message);
  EXPECT_EQ(scanner.feed("").parse, Parse::invalid);
}

}  // namespace
}  // namespace uptls::http
