#include "uptls/detail/launch.hpp"

#include <gtest/gtest.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <stdexcept>

#include "support/support.hpp"
#include "uptls/error.hpp"

namespace uptls {
namespace {

using Result = std::tuple<std::error_code, std::size_t>;

asio::awaitable<Result> throws_runtime_error() {
  throw std::runtime_error("a bug in a callback");
  co_return Result();
}

asio::awaitable<Result> returns(std::size_t n) { co_return Result(std::error_code(), n); }

// An exception that escapes an operation must never complete it as success
// (for a read: success with 0 bytes).
TEST(Launch, AnEscapedExceptionCompletesWithAnErrorNotSuccess) {
  test::run([]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto [ec, n] = co_await detail::launch<void(std::error_code, std::size_t)>(
        executor, asio::experimental::as_tuple(asio::use_awaitable), throws_runtime_error());
    EXPECT_EQ(ec, errc::unexpected_exception);
    EXPECT_TRUE(ec);
    EXPECT_EQ(n, 0u);
  });
}

TEST(Launch, AResultPassesThrough) {
  test::run([]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto [ec, n] = co_await detail::launch<void(std::error_code, std::size_t)>(
        executor, asio::experimental::as_tuple(asio::use_awaitable), returns(7));
    EXPECT_FALSE(ec);
    EXPECT_EQ(n, 7u);
  });
}

TEST(Launch, ACallbackSeesTheError) {
  asio::io_context io;
  std::error_code seen;
  bool called = false;
  detail::launch<void(std::error_code, std::size_t)>(
      io.get_executor(),
      [&](std::error_code ec, std::size_t) {
        called = true;
        seen = ec;
      },
      throws_runtime_error());
  io.run();
  EXPECT_TRUE(called);
  EXPECT_EQ(seen, errc::unexpected_exception);
}

}  // namespace
}  // namespace uptls
