#pragma once
// The one message of the minimal mail sessions (IMAP's INBOX, POP3's
// maildrop, NNTP's group), and dot-stuffing.

#include <string>
#include <string_view>

namespace uptls::sessions {

inline constexpr std::string_view sample_message =
    "From: uptls <uptls@localhost>\r\n"
    "To: you@localhost\r\n"
    "Subject: Hello from uptls\r\n"
    "Date: Mon, 23 Nov 2026 00:00:00 +0000\r\n"
    "Message-ID: <1@uptls.localhost>\r\n"
    "\r\n"
    "This mailbox holds one message, served over TLS by uptls.\r\n";

/// text with lines starting with "." doubled, for a multi-line response
/// ended by a line "." (POP3, RFC 1939 §3; NNTP, RFC 3977 §3.1.1).
inline std::string dot_stuffed(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find("\r\n", start);
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line[0] == '.') out += '.';
    out.append(line).append("\r\n");
    if (end == std::string_view::npos) break;
    start = end + 2;
  }
  return out;
}

}  // namespace uptls::sessions
