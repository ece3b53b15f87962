#pragma once
// Slots: collectives over a transport's shared slots (in-process ranks). A round is one hand-off
// among all ranks at once: each rank copies its part into its own slot and counts itself in;
// once every rank has, each reads all the slots. Where ring, tree and direct pass a message per
// step and pair, a call that fits one round costs one hand-off, which is what tiny messages are
// made of. Larger calls go in rounds of a slot each.
//
// all_reduce folds the slots in rank order on every rank, x0 op x1 op ... op x(p-1), as direct
// and colt::ordered do: the same bits on every rank, and the same bits as direct's.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>

#include "colt/algorithms/primitives.hpp"
#include "colt/reduce/host.hpp"

namespace colt::algorithms::slots {

template <class Call, class T, class Op>
void all_reduce(Call& call, std::span<const T> in, std::span<T> out, Op op) {
  auto& transport = call.transport();
  const int p = call.size(), r = call.rank();
  const std::size_t per_round = transport.slot_capacity() / sizeof(T);
  auto& inputs = call.request_store().inputs;
  inputs.assign(static_cast<std::size_t>(p), nullptr);
  for (std::size_t done = 0; done < in.size(); done += per_round) {
    const std::size_t count = std::min(per_round, in.size() - done);
    const std::size_t bytes = count * sizeof(T);
    auto round = transport.begin_slot_round();
    std::memcpy(round.mine().data(), in.data() + done, bytes);
    round.publish(bytes);
    round.wait(call.deadline());
    for (int peer = 0; peer < p; ++peer) {
      const std::span<const std::byte> part = round.of(peer);
      if (part.size() != bytes) call.size_mismatch(peer, bytes, part.size());
      // Its own part from its input: the same values as its slot, one cache miss fewer.
      inputs[static_cast<std::size_t>(peer)] =
          peer == r ? static_cast<const void*>(in.data() + done) : part.data();
    }
    reduce_many_at(
        op, out.data() + done, inputs.size(),
        [&](std::size_t i) { return static_cast<const T*>(inputs[i]); }, count, p);
  }
}

}  // namespace colt::algorithms::slots
