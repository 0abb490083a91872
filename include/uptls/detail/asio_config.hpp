#pragma once
/// @file
/// Included by every uptls header before Asio's, for two of Asio 1.22's
/// configuration choices:
///
/// - Its coroutine support (asio::awaitable, co_spawn) is on for GCC and
///   MSVC only, and Clang has C++20 coroutines too. So a program built with
///   Clang from `pkg-config --cflags uptls` (which cannot name one
///   compiler's macros) gets the same Asio as with GCC. Include uptls's
///   headers before Asio's, or define ASIO_HAS_CO_AWAIT and
///   ASIO_HAS_STD_COROUTINE yourself.
/// - It uses std::aligned_alloc for its recycled coroutine frames only when
///   the standard library's configuration was read before Asio's: a
///   translation unit that includes Asio first allocates them with operator
///   new, one that includes a standard header first with aligned_alloc, and
///   a frame allocated in one and freed in the other is a mismatch
///   (AddressSanitizer reports it). <cstddef> below settles it for these
///   headers; the CMake package and uptls.pc define ASIO_HAS_STD_ALIGNED_ALLOC
///   where the C library has aligned_alloc, so that every translation unit
///   chooses alike whatever it includes first.

#include <cstddef>

#if defined(__clang__) && defined(__cpp_impl_coroutine)
#if defined(ASIO_DETAIL_CONFIG_HPP) && !defined(ASIO_HAS_CO_AWAIT)
#error \
    "uptls: Asio was included before uptls without coroutine support: include uptls first, or define ASIO_HAS_CO_AWAIT and ASIO_HAS_STD_COROUTINE"
#endif
#ifndef ASIO_HAS_CO_AWAIT
/// Asio's coroutine support, for Clang.
#define ASIO_HAS_CO_AWAIT 1
#endif
#ifndef ASIO_HAS_STD_COROUTINE
/// Asio's coroutines from <coroutine>, for Clang.
#define ASIO_HAS_STD_COROUTINE 1
#endif
#endif
