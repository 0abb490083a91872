#pragma once
/// @file
/// Peer bytes made safe to print or log.

#include <string>
#include <string_view>

#include "uptls/export.hpp"

namespace uptls {

/// bytes with every byte that is not printable ASCII escaped (`\r`, `\n`,
/// `\t`, `\\`, `\xNN`), so that a peer cannot put terminal control
/// sequences, bells or forged line breaks into a terminal or a log. Text
/// that is printable already comes back unchanged. uptls passes everything
/// it prints or logs through it.
/// @param bytes any bytes, from a peer or not.
UPTLS_API std::string escape_nonprintable(std::string_view bytes);

/// text with every byte that is not printable ASCII escaped as
/// escape_nonprintable does, but backslashes left as they are: for text
/// that may have been escaped once already, such as the messages of uptls's
/// errors (which quote peer bytes escaped), so that a line printed or
/// logged shows `"USER evil\r\n"` and not `"USER evil\\r\\n"`. No control
/// byte gets through either way.
/// @param text a message, a log line.
UPTLS_API std::string escape_control(std::string_view text);

/// text with each mention of peer (as Stream::peer() gives it) replaced by
/// "the peer": for a line that names the peer once, first, before a message
/// that may name it again ("127.0.0.1:5000: TLS handshake failed with the
/// peer"). An empty peer leaves text as it is.
/// @param text a message, a log line.
/// @param peer the peer's name.
UPTLS_API std::string name_peer_once(std::string_view text, std::string_view peer);

}  // namespace uptls
