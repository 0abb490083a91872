#include "tls/ticket_keys.hpp"
#include "tls/errors.hpp"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <cstring>
#include <fstream>

namespace uptls::tls::detail {
namespace {

int ticket_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

TicketKeys::Key random_key() {
  TicketKeys::Key key;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&key), sizeof key) != 1) {
    throw drain_errors("cannot make a session ticket key");
  }
  return key;
}

// Fetched once: an implicit fetch on every ticket costs OpenSSL 3 a lookup
// under a lock.
const EVP_CIPHER* ticket_cipher() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return cipher;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void set_hmac(EVP_MAC_CTX* hmac, unsigned char* key) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  EVP_MAC_CTX_set_params(hmac, params);
}

// OpenSSL's ticket callback: 1 = key used, 2 = decrypted, issue a fresh
// ticket, 0 = unknown key (full handshake), -1 = error.
int on_ticket(SSL* ssl, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
              EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* hmac, int encrypt) {
  auto* keys = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ticket_index()));
  if (!keys) return -1;
  if (encrypt) {
    TicketKeys::Key key = keys->current();
    if (RAND_bytes(iv, 16) != 1) return -1;
    std::memcpy(name, key.name, sizeof key.name);
    if (EVP_EncryptInit_ex(cipher, ticket_cipher(), nullptr, key.aes, iv) != 1) return -1;
    set_hmac(hmac, key.hmac);
    return 1;
  }
  TicketKeys::Key key;
  if (!keys->find(name, key)) return 0;
  set_hmac(hmac, key.hmac);
  if (EVP_DecryptInit_ex(cipher, ticket_cipher(), nullptr, key.aes, iv) != 1) return -1;
  // Always 2, "renew": a resumed connection gets fresh tickets (from the
  // current key), so a client that uses each ticket once keeps resuming.
  return 2;
}

}  // namespace

std::unique_ptr<TicketKeys> TicketKeys::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    invalid_config("cannot read session ticket keys file '" + path + "'");
  }
  auto keys = std::make_unique<TicketKeys>();
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    Key key;
    auto* bytes = reinterpret_cast<unsigned char*>(&key);
    bool ok = line.size() == 2 * sizeof key;
    for (std::size_t i = 0; ok && i < sizeof key; ++i) {
      int high = hex_value(line[2 * i]), low = hex_value(line[2 * i + 1]);
      ok = high >= 0 && low >= 0;
      bytes[i] = static_cast<unsigned char>(high * 16 + low);
    }
    if (!ok) {
      invalid_config("session ticket keys file '" + path + "' line " + std::to_string(number) +
                     ": expected 160 hexadecimal digits (make one with: openssl rand -hex 80)");
    }
    keys->keys_.push_back(key);
  }
  if (keys->keys_.empty()) {
    invalid_config("session ticket keys file '" + path + "' holds no key");
  }
  return keys;
}

std::unique_ptr<TicketKeys> TicketKeys::rotating(std::chrono::seconds period) {
  auto keys = std::make_unique<TicketKeys>();
  keys->period_ = period;
  keys->keys_.push_back(random_key());
  keys->rotated_ = std::chrono::steady_clock::now();
  return keys;
}

namespace {

int origin_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Called as a ticket is made: the session it holds takes the origin along.
int mark_ticket(SSL* ssl, void*) {
  const auto* origin = static_cast<const std::string*>(SSL_get_ex_data(ssl, origin_index()));
  if (!origin) return 1;
  return SSL_SESSION_set1_ticket_appdata(SSL_get0_session(ssl), origin->data(), origin->size());
}

}  // namespace

void TicketKeys::attach(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, ticket_index(), this);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
  SSL_CTX_set_session_ticket_cb(ctx, mark_ticket, nullptr, nullptr);
}

void TicketKeys::set_origin(SSL* ssl, const std::string* origin) {
  SSL_set_ex_data(ssl, origin_index(), const_cast<std::string*>(origin));
}

std::string TicketKeys::resumed_origin(SSL* ssl) {
  SSL_SESSION* session = SSL_get0_session(ssl);
  if (!session || !SSL_session_reused(ssl)) return {};
  void* data = nullptr;
  std::size_t size = 0;
  if (SSL_SESSION_get0_ticket_appdata(session, &data, &size) != 1 || !data) return {};
  return std::string(static_cast<const char*>(data), size);
}

void TicketKeys::rotate_if_due() {
  if (period_.count() <= 0) return;
  auto now = std::chrono::steady_clock::now();
  if (now - rotated_ < period_) return;
  // The previous key still decrypts the tickets it issued for one more period.
  keys_.insert(keys_.begin(), random_key());
  if (keys_.size() > 2) keys_.pop_back();
  rotated_ = now;
}

TicketKeys::Key TicketKeys::current() {
  std::lock_guard lock(mutex_);
  rotate_if_due();
  return keys_.front();
}

bool TicketKeys::find(const unsigned char* name, Key& key) {
  std::lock_guard lock(mutex_);
  rotate_if_due();
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (std::memcmp(keys_[i].name, name, sizeof keys_[i].name) == 0) {
      key = keys_[i];
      return true;
    }
  }
  return false;
}

}  // namespace uptls::tls::detail
