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

}  // namespace uptls
