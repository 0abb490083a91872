#pragma once
// `--workers N`: N worker processes serve one port, each with a listener
// of its own (SO_REUSEPORT) and --threads threads, forked from a parent
// that made everything before (the TLS configuration and its ticket keys,
// so that a session one worker started resumes on any other). The parent
// starts a worker again when one dies (a death loses only that worker's
// connections), passes SIGHUP (reload) and SIGTERM or SIGINT (drain) on,
// and exits once they have.

#include <asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "server_options.hpp"

namespace uptls::cli {

/// Serves host:port with args.workers processes; prints one "listening on
/// ADDRESS:PORT (WHAT, N workers of T threads)" line once all listen.
/// Runs on a one-thread io_context (ServerArgs::process_threads()): it forks.
/// @returns 0 after a stop; 1 when a worker cannot start, or dies at once again and again.
asio::awaitable<int> serve_with_workers(Handler handler, std::string host, std::uint16_t port,
                                        ServeOptions options, ServerArgs args, Serving serving);

}  // namespace uptls::cli
