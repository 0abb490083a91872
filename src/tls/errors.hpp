#pragma once
// OpenSSL's error queue drained into uptls errors, and the errors of
// configuration building; private to the library.

#include <string>
#include <string_view>

#include "uptls/error.hpp"

namespace uptls::tls::detail {

/// Drains the whole OpenSSL error queue into one Error: the code of the first
/// (root-cause) entry, every entry's text in the message after context;
/// errc::tls_library_error when the queue is empty.
[[nodiscard]] Error drain_errors(std::string_view context);

/// Throws errc::invalid_argument when name cannot be a name to verify (it
/// holds a NUL byte, which OpenSSL refuses without saying why).
void check_name_to_verify(std::string_view name);

/// Drains the queue as drain_errors does, with errc::invalid_config as the
/// code; for configuration building.
[[nodiscard]] Error config_error(std::string_view context);

/// Throws errc::invalid_config with message, after clearing OpenSSL's queue.
[[noreturn]] void invalid_config(const std::string& message);

/// Reads a whole file, or throws errc::invalid_config naming the file.
std::string read_file(const std::string& path, std::string_view what);

}  // namespace uptls::tls::detail
