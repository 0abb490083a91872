#pragma once
// The stream's read buffer: bytes read from the peer and not yet consumed.
// Its memory is given back whenever it is drained, so an idle connection
// holds none.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace uptls::detail {

class ReadBuffer {
 public:
  std::string_view view() const noexcept { return {data_.get() + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }

  /// Space for at least n more bytes at the end.
  char* prepare(std::size_t n) {
    if (capacity_ - end_ >= n) return data_.get() + end_;
    std::size_t used = size();
    if (capacity_ - used >= n && used <= capacity_ / 2) {
      std::memmove(data_.get(), data_.get() + begin_, used);
    } else {
      std::size_t capacity = std::max(capacity_ * 2, used + n);
      auto data = std::make_unique_for_overwrite<char[]>(capacity);
      if (used) std::memcpy(data.get(), data_.get() + begin_, used);
      data_ = std::move(data);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = used;
    return data_.get() + end_;
  }

  std::size_t space() const noexcept { return capacity_ - end_; }

  void commit(std::size_t n) noexcept { end_ += n; }

  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (empty()) release();
  }

  /// Copies up to n bytes out and consumes them.
  std::size_t take(char* out, std::size_t n) noexcept {
    n = std::min(n, size());
    if (n == 0) return 0;
    std::memcpy(out, data_.get() + begin_, n);
    consume(n);
    return n;
  }

  std::string take_all() {
    std::string all(view());
    release();
    return all;
  }

  void release() noexcept {
    data_.reset();
    capacity_ = begin_ = end_ = 0;
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace uptls::detail
