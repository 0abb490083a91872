#pragma once
/// @file
/// Included by every uptls header before Asio's: Asio 1.22 enables its
/// coroutine support (asio::awaitable, co_spawn) for GCC and MSVC only, and
/// Clang has C++20 coroutines too. So a program built with Clang from
/// `pkg-config --cflags uptls` (which cannot name one compiler's macros)
/// gets the same Asio as with GCC. Include uptls's headers before Asio's, or
/// define ASIO_HAS_CO_AWAIT and ASIO_HAS_STD_COROUTINE yourself.

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
