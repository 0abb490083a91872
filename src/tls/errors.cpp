#include "tls/errors.hpp"

#include "printable.hpp"

#include <openssl/err.h>

#include <array>
#include <fstream>
#include <sstream>

namespace uptls::tls::detail {
namespace {

std::string drain_text(std::string_view context, unsigned long& first) {
  std::string message(context);
  first = 0;
  const char* separator = ": ";
  while (unsigned long e = ERR_get_error()) {
    if (first == 0) first = e;
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    // "error:0A000086:SSL routines::certificate verify failed": keep the reason.
    std::string_view reason(text);
    if (auto colon = reason.rfind(':'); colon != std::string_view::npos) {
      reason.remove_prefix(colon + 1);
    }
    message += separator;
    message += reason;
    separator = "; ";
  }
  return message;
}

}  // namespace

void invalid_config(const std::string& message) {
  ERR_clear_error();
  throw Error(make_error_code(errc::invalid_config), message);
}

Error drain_errors(std::string_view context) {
  unsigned long first = 0;
  std::string message = drain_text(context, first);
  if (first == 0) {
    // Some calls fail without queuing a reason; a code of 0 would read as success.
    return Error(make_error_code(errc::tls_library_error), message + ": OpenSSL gave no reason");
  }
  return Error(std::error_code(static_cast<int>(first), tls_category()), message);
}

void check_name_to_verify(std::string_view name) {
  if (name.find('\0') != std::string_view::npos) {
    throw Error(make_error_code(errc::invalid_argument),
                "the name to verify contains a NUL byte (" + uptls::detail::printable(name) +
                    "): it cannot be a host name or an IP address");
  }
}

Error config_error(std::string_view context) {
  unsigned long first = 0;
  return Error(make_error_code(errc::invalid_config), drain_text(context, first));
}

std::string read_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    invalid_config("cannot read " + std::string(what) + " '" + path + "'");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace uptls::tls::detail
