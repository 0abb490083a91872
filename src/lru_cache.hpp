#pragma once
// A bounded map that forgets the least recently used entry first, safe to
// share between threads. The lock is held for a lookup or an insert only,
// never while a value is made.

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace uptls::detail {

template <typename Key, typename Value>
class LruCache {
 public:
  explicit LruCache(std::size_t capacity) : capacity_(capacity > 0 ? capacity : 1) {}

  /// The value for key, now the most recently used; nullopt when absent.
  /// Value is copied out under the lock (make it cheap: a shared handle).
  std::optional<Value> find(const Key& key) {
    std::lock_guard lock(mutex_);
    auto found = index_.find(key);
    if (found == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, found->second);
    return found->second->second;
  }

  /// Keeps value for key unless another thread kept one first; returns the
  /// value kept. Forgets the least recently used entry when full.
  Value insert(const Key& key, Value value) {
    std::lock_guard lock(mutex_);
    if (auto found = index_.find(key); found != index_.end()) {
      order_.splice(order_.begin(), order_, found->second);
      return found->second->second;
    }
    if (index_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    order_.emplace_front(key, std::move(value));
    index_.emplace(key, order_.begin());
    return order_.front().second;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return index_.size();
  }

 private:
  using Entry = std::pair<Key, Value>;
  mutable std::mutex mutex_;
  std::size_t capacity_;
  std::list<Entry> order_;
  std::unordered_map<Key, typename std::list<Entry>::iterator> index_;
};

}  // namespace uptls::detail
