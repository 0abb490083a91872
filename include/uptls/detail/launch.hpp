#pragma once
/// @file
/// How uptls's initiating functions run a coroutine for any completion token.

#include "uptls/detail/asio_config.hpp"  // before Asio's headers

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <exception>
#include <string>
#include <tuple>
#include <utility>

#include "uptls/error.hpp"

namespace uptls::detail {

/// Runs operation on executor and completes token with the tuple it
/// returns (an error code first); the token's cancellation slot reaches the
/// operation, and the handler runs on its associated executor. An exception
/// that escapes the operation completes it with its code (error_of), never
/// with success, and the other values default.
/// @param executor where the operation runs.
/// @param token any completion token for Signature.
/// @param operation an awaitable made at the call, holding what it needs.
template <typename Signature, typename Token, typename Tuple>
auto launch(asio::any_io_executor executor, Token&& token, asio::awaitable<Tuple> operation) {
  return asio::async_initiate<Token, Signature>(
      [executor](auto handler, asio::awaitable<Tuple> op) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto handler_executor = asio::get_associated_executor(handler, executor);
        asio::co_spawn(
            executor, std::move(op),
            asio::bind_cancellation_slot(
                slot, asio::bind_executor(handler_executor,
                                          [handler = std::move(handler)](
                                              std::exception_ptr exception, Tuple result) mutable {
                                            if (exception) {
                                              std::string message;
                                              std::get<0>(result) = error_of(exception, message);
                                            }
                                            std::apply(std::move(handler), std::move(result));
                                          })));
      },
      token, std::move(operation));
}

}  // namespace uptls::detail
