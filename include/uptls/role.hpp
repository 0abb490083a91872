#pragma once
/// @file
/// The two roles of a connection, one type for streams, the TLS engine and
/// the STARTTLS dialogues.

namespace uptls {

/// Which end of a connection, its TLS handshake and its STARTTLS dialogue a
/// stream plays.
enum class Role { client, server };

}  // namespace uptls
