#include "lru_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace uptls::detail {
namespace {

TEST(LruCache, ForgetsTheLeastRecentlyUsedNotTheFirstInOrder) {
  LruCache<std::string, int> cache(3);
  cache.insert("a", 1);
  cache.insert("b", 2);
  cache.insert("c", 3);
  EXPECT_EQ(cache.find("a"), 1);  // "a" is now the most recently used
  cache.insert("d", 4);           // so "b" goes
  EXPECT_EQ(cache.find("b"), std::nullopt);
  EXPECT_EQ(cache.find("a"), 1);
  EXPECT_EQ(cache.find("c"), 3);
  EXPECT_EQ(cache.find("d"), 4);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(LruCache, TheFirstValueKeptForAKeyWins) {
  LruCache<std::string, int> cache(2);
  EXPECT_EQ(cache.insert("a", 1), 1);
  EXPECT_EQ(cache.insert("a", 2), 1) << "a second maker gets the value already kept";
  EXPECT_EQ(cache.size(), 1u);
}

TEST(LruCache, ManyThreadsStayWithinTheBound) {
  LruCache<int, int> cache(64);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        int key = (i * 7 + t) % 200;
        if (auto hit = cache.find(key)) {
          if (*hit != key * 10) ++wrong;
        } else if (cache.insert(key, key * 10) != key * 10) {
          ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.size(), 64u);
}

}  // namespace
}  // namespace uptls::detail
