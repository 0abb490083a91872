#pragma once
// The key log: each connection's secrets appended to a file in the NSS key
// log format, for Wireshark. Shared by the connections of a configuration.

#include <cstdio>
#include <mutex>
#include <string>

#include "tls/handles.hpp"

namespace uptls::tls::detail {

class KeyLog {
 public:
  /// Opens (creates, mode 0600) the file for appending.
  /// @throws Error (errc::invalid_config) when it cannot be opened.
  explicit KeyLog(const std::string& path);
  ~KeyLog();
  KeyLog(const KeyLog&) = delete;
  KeyLog& operator=(const KeyLog&) = delete;

  /// Makes ctx's connections write their secrets here.
  void attach(SSL_CTX* ctx);

  void write(const char* line);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace uptls::tls::detail
