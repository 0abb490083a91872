#pragma once
/// @file
/// Marks what the uptls library exports.
///
/// The library is built with hidden visibility, so a shared libuptls exports
/// only the items marked UPTLS_API: none of the Asio or OpenSSL code inside
/// it leaks into the program's symbol table.

#if defined(__GNUC__) || defined(__clang__)
/// Exports a class or function from the shared library. In the standard
/// attribute syntax, so that it goes beside others (`class [[nodiscard]]
/// UPTLS_API Server`).
#define UPTLS_API [[gnu::visibility("default")]]
#else
#define UPTLS_API
#endif
