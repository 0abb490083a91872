#pragma once
/// @file
/// An FTP client's steps after its STARTTLS dialogue (starttls::client with
/// Protocol::ftp): protected downloads over passive data connections, and
/// CCC (RFC 4217).

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <asio/awaitable.hpp>
#include <cstddef>
#include <string>

#include "uptls/export.hpp"
#include "uptls/stream.hpp"

namespace uptls::ftp {

/// FTP's CCC as a client (RFC 4217 §6): sends CCC over TLS, and on `200`
/// ends TLS with Stream::stop_tls; the control connection goes on in
/// plaintext (the data connections keep their protection level).
/// @param stream an FTP control connection over TLS, no reply pending.
/// @param max_line the longest reply line accepted.
/// @throws Error errc::protocol_error quoting a refusal, or stop_tls's errors.
UPTLS_API asio::awaitable<void> clear_command_channel(Stream& stream, std::size_t max_line = 8192);

/// One transfer over a passive data connection as a client (RFC 4217 §9):
/// EPSV (PASV if refused), a connection to the control connection's peer at
/// that port (open_connection: its connect timeout, the control stream's
/// timeouts), TLS with the control stream's configuration and name (the
/// control connection's PROT P) resuming the control connection's session
/// (RFC 4217 §10.2, which vsftpd and ProFTPD require by default), the
/// command, and everything the server sends until its end; then the
/// server's final reply.
/// @param control the control connection, logged in, PROT P given.
/// @param command the transfer (`LIST`, `RETR hello.txt`).
/// @param max_size the most bytes accepted.
/// @returns the data.
/// @throws Error errc::protocol_error quoting a refused command, or the
///         data connection's errors.
UPTLS_API asio::awaitable<std::string> download(Stream& control, std::string command,
                                                std::size_t max_size = 64 * 1024 * 1024);

}  // namespace uptls::ftp
