#include "proxy/body.hpp"

#include <gtest/gtest.h>

#include "support/memory_transport.hpp"
#include "support/support.hpp"
#include "uptls/error.hpp"

// One body copied from one stream to another: as it came, no byte of what
// follows taken, and a failure that says which end failed and how far the
// body came.

namespace uptls::proxy {
namespace {

using test::memory_pair;
using test::run;

// from (the test writes its far end) -> copy -> to (the test reads its far end).
struct Pipe {
  explicit Pipe(const asio::any_io_executor& executor) {
    auto in = memory_pair(executor);
    writer = std::move(in.client);
    from.emplace(std::move(in.server), Role::server);
    auto out = memory_pair(executor);
    to.emplace(std::move(out.client), Role::client);
    reader.emplace(std::move(out.server), Role::server);
  }
  std::unique_ptr<Transport> writer;
  std::optional<Stream> from, to, reader;
};

asio::awaitable<std::string> read_exactly(Stream& stream, std::size_t size) {
  std::string all(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    std::size_t n = co_await stream.read_some(asio::buffer(all.data() + done, size - done));
    if (n == 0) break;
    done += n;
  }
  all.resize(done);
  co_return all;
}

TEST(ProxyBody, ALengthBodyIsCopiedAndWhatFollowsStays) {
  run([]() -> asio::awaitable<void> {
    Pipe pipe(co_await asio::this_coro::executor);
    co_await test::raw_write(*pipe.writer, "helloGET /next");
    std::uint64_t moved = 0;
    http::Framing framing{http::BodyKind::length, 5};
    co_await copy_body({*pipe.from, "the client", &*pipe.to, "the upstream"}, framing,
                       http::Limits(), moved);
    EXPECT_EQ(moved, 5u);
    std::string copied = co_await read_exactly(*pipe.reader, 5);
    EXPECT_EQ(copied, "hello");
    std::string rest = co_await read_exactly(*pipe.from, 9);
    EXPECT_EQ(rest, "GET /next");
  });
}

TEST(ProxyBody, AChunkedBodyGoesOnAsItCameWithBareLineEndsMended) {
  run([]() -> asio::awaitable<void> {
    Pipe pipe(co_await asio::this_coro::executor);
    co_await test::raw_write(*pipe.writer,
                             "5;ext=1\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\nNEXT");
    std::uint64_t moved = 0;
    http::Framing framing{http::BodyKind::chunked, 0};
    co_await copy_body({*pipe.from, "the client", &*pipe.to, "the upstream"}, framing,
                       http::Limits(), moved);
    EXPECT_EQ(moved, 11u) << "payload bytes, not chunk lines";
    std::string expected = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n";
    std::string copied = co_await read_exactly(*pipe.reader, expected.size());
    EXPECT_EQ(copied, expected);
    std::string rest = co_await read_exactly(*pipe.from, 4);
    EXPECT_EQ(rest, "NEXT");
  });
}

TEST(ProxyBody, ABadChunkLineIsAProtocolError) {
  run([]() -> asio::awaitable<void> {
    Pipe pipe(co_await asio::this_coro::executor);
    co_await test::raw_write(*pipe.writer, "zz\r\nhello\r\n0\r\n\r\n");
    std::uint64_t moved = 0;
    http::Framing framing{http::BodyKind::chunked, 0};
    test::Caught failure = co_await test::caught(copy_body(
        {*pipe.from, "the client", &*pipe.to, "the upstream"}, framing, http::Limits(), moved));
    EXPECT_EQ(failure.code, errc::protocol_error);
    EXPECT_NE(failure.message.find("reading the client: "), std::string::npos) << failure.message;
  });
}

TEST(ProxyBody, AShortBodySaysHowFarItCame) {
  run([]() -> asio::awaitable<void> {
    Pipe pipe(co_await asio::this_coro::executor);
    co_await test::raw_write(*pipe.writer, "abc");
    std::error_code ignored;
    pipe.writer->shutdown_send(ignored);
    std::uint64_t moved = 0;
    http::Framing framing{http::BodyKind::length, 5};
    test::Caught failure = co_await test::caught(copy_body(
        {*pipe.from, "the client", &*pipe.to, "the upstream"}, framing, http::Limits(), moved));
    EXPECT_EQ(failure.code, errc::unexpected_eof);
    EXPECT_NE(failure.message.find("reading the client: the body ended after 3 of its 5 bytes"),
              std::string::npos)
        << failure.message;
    EXPECT_EQ(moved, 3u);
  });
}

TEST(ProxyBody, AWriteThatFailsNamesTheFarEnd) {
  run([]() -> asio::awaitable<void> {
    Pipe pipe(co_await asio::this_coro::executor);
    co_await test::raw_write(*pipe.writer, "hello");
    pipe.reader->abort();
    pipe.to->abort();
    std::uint64_t moved = 0;
    http::Framing framing{http::BodyKind::length, 5};
    test::Caught failure = co_await test::caught(copy_body(
        {*pipe.from, "the client", &*pipe.to, "the upstream"}, framing, http::Limits(), moved));
    EXPECT_TRUE(failure.code) << "a write to a closed stream must fail";
    EXPECT_NE(failure.message.find("writing to the upstream: "), std::string::npos)
        << failure.message;
  });
}

TEST(ProxyBody, ABodyNobodyWantsIsReadAndDropped) {
  run([]() -> asio::awaitable<void> {
    Pipe pipe(co_await asio::this_coro::executor);
    co_await test::raw_write(*pipe.writer, "helloNEXT");
    std::uint64_t moved = 0;
    http::Framing framing{http::BodyKind::length, 5};
    co_await copy_body({*pipe.from, "the client", nullptr, ""}, framing, http::Limits(), moved);
    EXPECT_EQ(moved, 5u);
    std::string rest = co_await read_exactly(*pipe.from, 4);
    EXPECT_EQ(rest, "NEXT");
  });
}

}  // namespace
}  // namespace uptls::proxy
