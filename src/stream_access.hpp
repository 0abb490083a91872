#pragma once
// What the server needs of a stream's private state.

#include "uptls/stream.hpp"

namespace uptls::detail {

/// Aborts a stream that a running handler owns (graceful stop ran out of time).
void abort_stream(Stream::Impl& impl) noexcept;

}  // namespace uptls::detail
