#include "uptls/error.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

namespace uptls {
namespace {

class LibraryCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "uptls"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::line_too_long:
        return "line too long";
      case errc::unexpected_eof:
        return "connection closed by peer before the end of the data";
      case errc::injected_plaintext:
        return "plaintext bytes carried over into TLS (STARTTLS injection)";
      case errc::already_tls:
        return "stream is already TLS";
      case errc::no_tls_config:
        return "no TLS configuration for this stream";
      case errc::tls_truncated:
        return "TLS connection closed without close_notify (truncated)";
      case errc::handshake_timeout:
        return "TLS handshake timed out";
      case errc::connect_timeout:
        return "connect timed out";
      case errc::read_timeout:
        return "read timed out";
      case errc::stream_closed:
        return "stream is closed";
      case errc::invalid_config:
        return "invalid TLS configuration";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::resolve_failed:
        return "host name could not be resolved";
      case errc::data_after_close_notify:
        return "data after the peer's TLS close_notify";
      case errc::write_timeout:
        return "write timed out";
      case errc::close_timeout:
        return "close_notify wait timed out";
      case errc::operation_in_progress:
        return "another operation is in progress on this stream";
      case errc::idle_timeout:
        return "idle timeout";
      case errc::connection_limit:
        return "connection refused over the server's limits";
      case errc::protocol_error:
        return "protocol error";
      case errc::starttls_unavailable:
        return "the server did not offer or refused STARTTLS";
      case errc::tls_library_error:
        return "an OpenSSL call failed without a reason";
      case errc::unexpected_exception:
        return "unexpected exception";
      case errc::session_not_resumed:
        return "the TLS handshake did not resume the session it had to";
      case errc::proxy_header:
        return "a missing, malformed or untrusted PROXY protocol header";
    }
    return "unknown uptls error";
  }
};

class ConditionCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "uptls.condition"; }
  std::string message(int value) const override {
    return static_cast<condition>(value) == condition::timeout ? "timed out"
                                                               : "unknown uptls condition";
  }
  bool equivalent(const std::error_code& code, int value) const noexcept override {
    if (static_cast<condition>(value) != condition::timeout) return false;
    if (code.category() == uptls::error_category()) {
      switch (static_cast<errc>(code.value())) {
        case errc::connect_timeout:
        case errc::handshake_timeout:
        case errc::read_timeout:
        case errc::idle_timeout:
        case errc::write_timeout:
        case errc::close_timeout:
          return true;
        default:
          return false;
      }
    }
    return code == std::errc::timed_out;
  }
};

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "uptls.tls"; }
  std::string message(int value) const override {
    char text[256];
    ERR_error_string_n(static_cast<unsigned long>(value), text, sizeof text);
    return text;
  }
};

class VerifyCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "uptls.verify"; }
  std::string message(int value) const override { return X509_verify_cert_error_string(value); }
};

}  // namespace

std::string_view errc_name(errc code) noexcept {
  switch (code) {
    case errc::line_too_long:
      return "line_too_long";
    case errc::unexpected_eof:
      return "unexpected_eof";
    case errc::injected_plaintext:
      return "injected_plaintext";
    case errc::already_tls:
      return "already_tls";
    case errc::no_tls_config:
      return "no_tls_config";
    case errc::tls_truncated:
      return "tls_truncated";
    case errc::handshake_timeout:
      return "handshake_timeout";
    case errc::connect_timeout:
      return "connect_timeout";
    case errc::read_timeout:
      return "read_timeout";
    case errc::stream_closed:
      return "stream_closed";
    case errc::invalid_config:
      return "invalid_config";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::resolve_failed:
      return "resolve_failed";
    case errc::data_after_close_notify:
      return "data_after_close_notify";
    case errc::write_timeout:
      return "write_timeout";
    case errc::close_timeout:
      return "close_timeout";
    case errc::operation_in_progress:
      return "operation_in_progress";
    case errc::idle_timeout:
      return "idle_timeout";
    case errc::connection_limit:
      return "connection_limit";
    case errc::protocol_error:
      return "protocol_error";
    case errc::starttls_unavailable:
      return "starttls_unavailable";
    case errc::tls_library_error:
      return "tls_library_error";
    case errc::unexpected_exception:
      return "unexpected_exception";
    case errc::session_not_resumed:
      return "session_not_resumed";
    case errc::proxy_header:
      return "proxy_header";
  }
  return "unknown";
}

const std::error_category& error_category() noexcept {
  static const LibraryCategory category;
  return category;
}

const std::error_category& condition_category() noexcept {
  static const ConditionCategory category;
  return category;
}

std::error_condition make_error_condition(condition c) noexcept {
  return {static_cast<int>(c), condition_category()};
}

const std::error_category& tls_category() noexcept {
  static const TlsCategory category;
  return category;
}

const std::error_category& verify_category() noexcept {
  static const VerifyCategory category;
  return category;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

Error::Error(std::error_code code, const std::string& message)
    : std::system_error(code), message_(message) {}

const char* Error::what() const noexcept { return message_.what(); }

std::error_code error_of(const std::exception_ptr& exception, std::string& message) noexcept {
  std::error_code code = make_error_code(errc::unexpected_exception);
  try {
    try {
      std::rethrow_exception(exception);
    } catch (const std::system_error& e) {
      message = e.what();
      // A system_error made from a success code would complete as success.
      if (e.code()) code = e.code();
    } catch (const std::bad_alloc&) {
      code = std::make_error_code(std::errc::not_enough_memory);
      message = "out of memory";
    } catch (const std::exception& e) {
      message = std::string("unexpected exception: ") + e.what();
    } catch (...) {
      message = "unexpected exception of an unknown type";
    }
  } catch (...) {
    // Copying the message ran out of memory: the code is still right.
  }
  return code;
}

}  // namespace uptls
