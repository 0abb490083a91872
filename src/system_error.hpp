#pragma once
// Asio reports socket errors in its own category, which does not compare
// equal to std::errc values; uptls hands them out in std::system_category()
// so that `code == std::errc::connection_refused` works for callers.

#include <asio/error.hpp>
#include <string>
#include <system_error>

namespace uptls::detail {

[[noreturn]] inline void throw_system_error(std::error_code ec, const std::string& what) {
  if (ec.category() == asio::error::get_system_category()) {
    ec = std::error_code(ec.value(), std::system_category());
  }
  throw std::system_error(ec, what);
}

}  // namespace uptls::detail
