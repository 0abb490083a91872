#include "tls/session_cache.hpp"

namespace uptls::tls::detail {
namespace {

int ctx_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int ssl_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL calls this for each session a connection receives (TLS 1.3: each
// NewSessionTicket, after the handshake).
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, ssl_index()));
  SessionCache* cache = SessionCache::of(SSL_get_SSL_CTX(ssl));
  if (!key || !cache || !SSL_SESSION_is_resumable(session)) return 0;
  cache->put(*key, SessionPtr(session));
  return 1;  // the cache owns the reference now
}

}  // namespace

void SessionCache::put(const std::string& key, SessionPtr session) {
  std::lock_guard lock(mutex_);
  if (count_ >= capacity_) evict_one(key);
  sessions_[key].push_back(std::move(session));
  ++count_;
}

void SessionCache::evict_one(const std::string& key) {
  // The map holds no empty queues, and count_ > 0 here: there is a victim.
  auto victim = sessions_.find(key);
  if (victim == sessions_.end()) victim = sessions_.begin();
  victim->second.pop_front();
  --count_;
  if (victim->second.empty()) sessions_.erase(victim);
}

SessionPtr SessionCache::take(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto found = sessions_.find(key);
  if (found == sessions_.end()) return nullptr;
  SessionPtr session = std::move(found->second.back());
  found->second.pop_back();
  --count_;
  if (found->second.empty()) sessions_.erase(found);
  return session;
}

SessionCache* SessionCache::of(SSL_CTX* ctx) {
  return static_cast<SessionCache*>(SSL_CTX_get_ex_data(ctx, ctx_index()));
}

void SessionCache::attach(SSL_CTX* ctx, SessionCache* cache) {
  SSL_CTX_set_ex_data(ctx, ctx_index(), cache);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
}

void SessionCache::set_key(SSL* ssl, const std::string* key) {
  SSL_set_ex_data(ssl, ssl_index(), const_cast<std::string*>(key));
}

}  // namespace uptls::tls::detail
