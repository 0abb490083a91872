#pragma once
// The client's TLS session cache: sessions to resume, keyed by the server's
// name, address and port, at most `capacity` in all, shared by every stream
// of one ClientConfig (and so by threads: it locks). A client with many
// concurrent connections to one server holds a ticket for each.

#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "tls/handles.hpp"

namespace uptls::tls::detail {

using SessionPtr = std::unique_ptr<SSL_SESSION, Deleter<SSL_SESSION_free>>;

class SessionCache {
 public:
  explicit SessionCache(std::size_t capacity) : capacity_(capacity) {}

  /// Keeps a session for key (taking ownership); the oldest go first.
  void put(const std::string& key, SessionPtr session);

  /// Takes a session for key out of the cache: TLS 1.3 tickets are used once
  /// (RFC 8446 §C.4), so a resumed connection does not share its ticket.
  SessionPtr take(const std::string& key);

  /// The cache behind an SSL_CTX, if the configuration has one.
  static SessionCache* of(SSL_CTX* ctx);

  /// Makes ctx keep the sessions its connections receive in cache.
  static void attach(SSL_CTX* ctx, SessionCache* cache);

  /// Tells the cache which key the sessions of ssl belong to.
  static void set_key(SSL* ssl, const std::string* key);

 private:
  /// Frees one place: the oldest session of key's server, else another's.
  void evict_one(const std::string& key);

  std::mutex mutex_;
  std::size_t capacity_;
  std::size_t count_ = 0;
  std::unordered_map<std::string, std::deque<SessionPtr>> sessions_;
};

}  // namespace uptls::tls::detail
