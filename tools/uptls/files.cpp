#include "files.hpp"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uptls::cli {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(int error, const fs::path& path) {
  if (error == EEXIST) {
    throw std::system_error(std::make_error_code(std::errc::file_exists),
                            "'" + path.string() + "' exists; pass --force to overwrite it");
  }
  throw std::system_error(error, std::generic_category(), "cannot write '" + path.string() + "'");
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

/// Moves from to to, failing with EEXIST when to exists and existing is refuse.
int move_into_place(const fs::path& from, const fs::path& to, Existing existing) {
  if (existing == Existing::replace) return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  // A file system without RENAME_NOREPLACE: link() refuses an existing name too.
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  ::unlink(from.c_str());
  return 0;
}

}  // namespace

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path.string() + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& text, Readers readers, Existing existing) {
  // mkostemp creates the file with O_EXCL and mode 0600: never a planted
  // file or symlink, and a key is never readable by others, not even briefly.
  std::string temporary = path.string() + ".tmp-XXXXXX";
  int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) fail(errno, path);
  bool ok = (readers == Readers::owner_only || ::fchmod(fd, 0644) == 0) && write_all(fd, text) &&
            ::fsync(fd) == 0;
  int error = ok ? 0 : errno;
  if (::close(fd) != 0 && ok) error = errno;
  if (error == 0) error = move_into_place(temporary, path, existing);
  if (error != 0) {
    ::unlink(temporary.c_str());
    fail(error, path);
  }
}

tls::DevAuthority kept_authority(const fs::path& cert, const fs::path& key,
                                 const std::string& common_name,
                                 const std::function<void(const std::string&)>& say) {
  bool have_cert = fs::exists(fs::symlink_status(cert));
  bool have_key = fs::exists(fs::symlink_status(key));
  if (have_cert && have_key) {
    say("using the CA of an earlier run: " + cert.string() + " (key " + key.string() + ")");
    return tls::DevAuthority::from_pem(read_text(cert), read_text(key));
  }
  if (have_cert || have_key) {
    const fs::path& present = have_cert ? cert : key;
    const fs::path& missing = have_cert ? key : cert;
    throw std::runtime_error("'" + present.string() + "' exists but '" + missing.string() +
                             "' does not: give both files of a CA, or remove '" + present.string() +
                             "' to make a new one (nothing was replaced)");
  }
  tls::DevAuthority authority(common_name);
  write_file(key, authority.ca_key_pem(), Readers::owner_only, Existing::refuse);
  write_file(cert, authority.ca_pem(), Readers::anyone, Existing::refuse);
  say("made a CA: clients must trust " + cert.string() + " (its key is in " + key.string() + ")");
  return authority;
}

}  // namespace uptls::cli
