#pragma once
// `--metrics HOST:PORT`: a server's statistics (Server::stats()) in
// Prometheus's text exposition format (version 0.0.4), served over HTTP at
// /metrics by a small plaintext server of its own.

#include <asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "uptls/server.hpp"

namespace uptls::cli {

/// The exposition of stats, every sample labelled with the protocol served.
std::string prometheus_text(const ServerStats& stats, std::string_view protocol);

/// Starts the /metrics server on listen (HOST:PORT) for server.
/// @throws std::system_error when listen cannot be bound.
asio::awaitable<Server> start_metrics(std::string listen, Server server, std::string protocol);

}  // namespace uptls::cli
