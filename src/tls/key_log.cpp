#include "tls/key_log.hpp"
#include "tls/errors.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uptls::tls::detail {
namespace {

int key_log_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void on_key_line(const SSL* ssl, const char* line) {
  auto* log = static_cast<KeyLog*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), key_log_index()));
  if (log) log->write(line);
}

}  // namespace

KeyLog::KeyLog(const std::string& path) {
  // The secrets decrypt the traffic: readable by the owner only, and never
  // written through a symlink someone planted at path.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int error = errno;
    invalid_config("cannot open key log file '" + path + "': " +
                   (error == ELOOP ? std::string("it is a symlink") : std::strerror(error)));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) ||
      ((info.st_mode & 077) != 0 && ::fchmod(fd, 0600) != 0)) {
    ::close(fd);
    invalid_config("key log file '" + path +
                   "' is not a regular file that only its owner can read");
  }
  file_ = ::fdopen(fd, "a");
  if (!file_) {
    ::close(fd);
    invalid_config("cannot open key log file '" + path + "'");
  }
}

KeyLog::~KeyLog() { std::fclose(file_); }

void KeyLog::attach(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, key_log_index(), this);
  SSL_CTX_set_keylog_callback(ctx, on_key_line);
}

void KeyLog::write(const char* line) {
  std::lock_guard lock(mutex_);
  std::fputs(line, file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

}  // namespace uptls::tls::detail
