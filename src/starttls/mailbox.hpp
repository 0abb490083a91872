#pragma once
// The one message of the minimal mail sessions (IMAP's INBOX, POP3's
// maildrop, NNTP's group).

#include <string_view>

namespace uptls::detail {

inline constexpr std::string_view sample_message =
    "From: uptls <uptls@localhost>\r\n"
    "To: you@localhost\r\n"
    "Subject: Hello from uptls\r\n"
    "Date: Mon, 23 Nov 2026 00:00:00 +0000\r\n"
    "Message-ID: <1@uptls.localhost>\r\n"
    "\r\n"
    "This mailbox holds one message, served over TLS by uptls.\r\n";

}  // namespace uptls::detail
