#pragma once
// What a Server learns of each stream it accepted (detail::observe): each
// handshake, and, once the stream is gone, the bytes it carried. Called on
// the stream's strand; an observer of many streams is thread-safe. Internal.

#include <chrono>
#include <cstdint>
#include <string>

namespace uptls::detail {

class StreamObserver {
 public:
  virtual ~StreamObserver() = default;

  struct Handshake {
    bool ok = false;
    bool resumed = false;
    /// The connection began in plaintext (STARTTLS), rather than with TLS.
    bool upgrade = false;
    std::string version;
    std::string cipher;
    std::chrono::steady_clock::duration took{};
  };
  virtual void on_handshake(const Handshake& handshake) noexcept = 0;
  /// The application bytes read and written (plaintext and over TLS).
  virtual void on_end(std::uint64_t received, std::uint64_t sent) noexcept = 0;
};

}  // namespace uptls::detail
