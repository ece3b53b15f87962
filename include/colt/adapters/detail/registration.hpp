#pragma once
// Before the first step, a data-parallel adapter checks that every rank registered the same
// tensors: a difference would otherwise surface later, as a size mismatch deep inside some
// bucket or unit, or as a hang. Each rank hashes what identifies its tensors, in order, and one
// all-reduce compares the hashes.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "colt/adapters/detail/step_guard.hpp"
#include "colt/adapters/detail/step_state.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/core/detail/fnv1a.hpp"
#include "colt/core/ops.hpp"

namespace colt::detail {

// `keys` identify the `tensors` registered on this rank (sizes, types, unit ends), in order;
// `what` names them in the error ("sizes"). Collective; every rank fails if any differs.
template <class Comm>
void check_same_registration(Comm& comm, StepGuard& guard, const StepState& step,
                             std::span<const std::uint64_t> keys, std::size_t tensors,
                             const char* what) {
  if (tensors == 0) step.fail("no tensors registered");
  std::uint64_t fingerprint = fnv1a_basis;
  for (const std::uint64_t key : keys) fingerprint = fnv1a_u64(key, fingerprint);
  // max over ranks of (f, -f) gives the largest and the smallest fingerprint in one call.
  const auto f = static_cast<std::int64_t>(fingerprint >> 1);
  std::int64_t extremes[2] = {f, -f};
  guard.guarded([&] { all_reduce(comm, std::span<std::int64_t>(extremes), max{}); });
  if (extremes[0] != -extremes[1])
    step.fail("ranks registered different tensors (this rank: " + std::to_string(tensors) +
              " tensors); every rank must add the same " + std::string(what) +
              " in the same order");
}

}  // namespace colt::detail
