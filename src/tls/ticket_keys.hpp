#pragma once
// Session ticket keys (RFC 5077, RFC 8446 §4.6.1): the first key encrypts
// new tickets, every key decrypts. Made in memory and rotated, or loaded
// from a file so that the servers of a fleet resume each other's sessions.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tls/handles.hpp"

namespace uptls::tls::detail {

class TicketKeys {
 public:
  /// Keys from a file: one per line, 160 hexadecimal digits (16-byte name,
  /// 32-byte HMAC key, 32-byte AES key), as `openssl rand -hex 80` makes.
  /// @throws Error (errc::invalid_config) naming the line that is wrong.
  static std::unique_ptr<TicketKeys> from_file(const std::string& path);

  /// Keys made in memory; a new one every period, the previous kept for decryption.
  static std::unique_ptr<TicketKeys> rotating(std::chrono::seconds period);

  /// Makes ctx encrypt and decrypt its tickets with these keys, each ticket
  /// carrying the origin of the connection that issued it.
  void attach(SSL_CTX* ctx);

  /// Marks every ticket ssl's connection issues with origin (which must
  /// outlive ssl): a server connection's own random token.
  static void set_origin(SSL* ssl, const std::string* origin);

  /// The origin of the session ssl's handshake resumed; empty when it
  /// resumed none, or one issued by no marked connection.
  static std::string resumed_origin(SSL* ssl);

  struct Key {
    unsigned char name[16];
    unsigned char hmac[32];
    unsigned char aes[32];
  };

  /// Encrypting: the current key. Decrypting: the key named, if any.
  Key current();
  bool find(const unsigned char* name, Key& key);

 private:
  void rotate_if_due();

  std::mutex mutex_;
  std::vector<Key> keys_;  // front: the current key
  std::chrono::seconds period_{0};
  std::chrono::steady_clock::time_point rotated_;
};

}  // namespace uptls::tls::detail
