#pragma once
// How a collective is started without waiting (colt::iall_reduce, ...) and how a blocking call
// keeps its place behind started ones (core/request.hpp has both). Both run the same body: the
// blocking call's own checks and algorithm, so a started call gives bit for bit the blocking
// call's result, and fails with the same colt::Error.

#include <utility>

#include "colt/core/communicator.hpp"
#include "colt/core/request.hpp"

namespace colt::detail {

// `kind`: what the flight recorder says of the call while it is queued (core/request.hpp).
template <class Comm, class Body>
Request start(Comm& comm, CollectiveKind kind, Body body) {
  return start_on(engine(comm), plumbing(comm).recorder(), kind, std::move(body));
}

template <class Comm, class Body>
void run_in_order(Comm& comm, CollectiveKind kind, Body&& body) {
  run_in_order(engine_if_started(comm), plumbing(comm).recorder(), kind, std::forward<Body>(body));
}

}  // namespace colt::detail
