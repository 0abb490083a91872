#include "files.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uptls::cli {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path.string() + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& text, bool private_key) {
  int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, private_key ? 0600 : 0644);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "cannot write '" + path.string() + "'");
  // An existing file keeps its mode through O_TRUNC: set it.
  bool ok = ::fchmod(fd, private_key ? 0600 : 0644) == 0;
  std::size_t done = 0;
  while (ok && done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  int error = errno;
  ::close(fd);
  if (!ok)
    throw std::system_error(error, std::generic_category(), "cannot write '" + path.string() + "'");
}

}  // namespace uptls::cli
