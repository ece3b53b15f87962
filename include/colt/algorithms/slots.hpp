#pragma once
// Slots: collectives over a transport's shared slots (in-process ranks). A round is one hand-off
// among all ranks at once: each rank copies its part into its own slot and counts itself in;
// once every rank has, each reads all the slots. Where ring, tree and direct pass a message per
// step and pair, a call that fits one round costs one hand-off, which is what tiny messages are
// made of. Larger calls go in rounds of a slot each.
//
// all_reduce and reduce fold the slots in rank order, x0 op x1 op ... op x(p-1), as direct and
// colt::ordered do: the same bits on every rank, and the same bits as direct's. all_reduce,
// all_gather and barrier are gathering rounds: every rank waits for all. broadcast and reduce are
// rooted: a broadcast's root and a reduce's other ranks write their part and return, so the
// writers of a stream of calls run up to 31 rounds ahead of the readers when the parts are of up
// to 512 bytes, 3 when larger (transport/detail/inprocess_slots.hpp).

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>

#include "colt/algorithms/primitives.hpp"
#include "colt/algorithms/schedule/segments.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/reduce/host.hpp"

namespace colt::algorithms::slots {

// The part of a block of `size` elements that the round starting at element `done` carries.
constexpr std::size_t piece(std::size_t size, std::size_t done, std::size_t per_round) {
  return size > done ? std::min(per_round, size - done) : 0;
}

// Reads peer's part of `round`, which must hold `bytes` (else the counts differ between ranks).
template <class Call, class Round>
const std::byte* part_of(Call& call, Round& round, int peer, std::size_t bytes) {
  const std::span<const std::byte> part = round.of(peer);
  if (part.size() != bytes) call.size_mismatch(peer, bytes, part.size());
  return part.data();
}

// Whether calls of this communicator and memory space can run on shared slots.
template <class Comm, class Memory>
inline constexpr bool usable = SlotTransport<typename Comm::transport_type> && !Memory::device;

// out = the rank-order fold of every rank's `in`, on every rank (all_reduce, no root: a gathering
// round) or on `root` alone (reduce: a rooted round, which only the root waits out).
template <class Call, class T, class Op>
void fold(Call& call, std::span<const T> in, std::span<T> out, Op op, std::optional<int> root) {
  auto& transport = call.transport();
  const int p = call.size(), r = call.rank();
  const bool gathering = !root, folds = gathering || r == *root;
  const std::size_t per_round = transport.slot_capacity() / sizeof(T);
  auto& inputs = call.request_store().inputs;
  inputs.assign(static_cast<std::size_t>(p), nullptr);
  for (std::size_t done = 0; done < in.size(); done += per_round) {
    const std::size_t count = std::min(per_round, in.size() - done);
    const std::size_t bytes = count * sizeof(T);
    auto round = transport.begin_slot_round(
        gathering ? SlotRoundKind::gathering : SlotRoundKind::rooted, call.deadline());
    if (gathering || r != *root) {  // a reduce's root reads its own part from its input
      std::memcpy(round.mine(bytes).data(), in.data() + done, bytes);
      round.publish(bytes);
    }
    if (gathering) round.wait();
    if (!folds) continue;
    for (int peer = 0; peer < p; ++peer) {
      if (peer == r) {  // its own part from its input: one cache miss fewer than its slot
        inputs[static_cast<std::size_t>(peer)] = in.data() + done;
        continue;
      }
      if (!gathering) round.wait_for(peer);
      inputs[static_cast<std::size_t>(peer)] = part_of(call, round, peer, bytes);
    }
    reduce_many_at(
        op, out.data() + done, inputs.size(),
        [&](std::size_t i) { return static_cast<const T*>(inputs[i]); }, count, p);
  }
}

template <class Call, class T, class Op>
void all_reduce(Call& call, std::span<const T> in, std::span<T> out, Op op) {
  fold(call, in, out, op, std::nullopt);
}

// The root's `out` = the rank-order fold of every rank's `in`. The other ranks post their part
// and return.
template <class Call, class T, class Op>
void reduce(Call& call, std::span<const T> in, std::span<T> out, int root, Op op) {
  fold(call, in, out, op, root);
}

// `out` = this rank's segment of the rank-order fold of every rank's `in`: each round carries a
// slot's worth of the whole input, and each rank folds the part of it inside its own segment.
template <class Call, class T, class Op>
void reduce_scatter(Call& call, std::span<const T> in, std::span<T> out,
                    const schedule::Segments& segments, Op op) {
  auto& transport = call.transport();
  const int p = call.size(), r = call.rank();
  const std::size_t per_round = transport.slot_capacity() / sizeof(T);
  const partition::Range mine = segments[r];
  auto& inputs = call.request_store().inputs;
  inputs.assign(static_cast<std::size_t>(p), nullptr);
  for (std::size_t done = 0; done < in.size(); done += per_round) {
    const std::size_t count = std::min(per_round, in.size() - done);
    const std::size_t bytes = count * sizeof(T);
    auto round = transport.begin_slot_round(SlotRoundKind::gathering, call.deadline());
    std::memcpy(round.mine(bytes).data(), in.data() + done, bytes);
    round.publish(bytes);
    round.wait();
    // This rank's segment's part of the round, [from, to) of the whole input.
    const std::size_t from = std::max(done, mine.begin), to = std::min(done + count, mine.end);
    const bool folds = from < to;
    for (int peer = 0; peer < p; ++peer) {
      const auto* part = reinterpret_cast<const T*>(part_of(call, round, peer, bytes));
      // Its own part from its input: one cache miss fewer than its slot.
      if (folds)
        inputs[static_cast<std::size_t>(peer)] =
            peer == r ? in.data() + from : part + (from - done);
    }
    if (folds)
      reduce_many_at(
          op, out.data() + (from - mine.begin), inputs.size(),
          [&](std::size_t i) { return static_cast<const T*>(inputs[i]); }, to - from, p);
  }
}

// Every rank's `d` = the root's: the root fills its slot and returns, the others copy it.
template <class Call, class T>
void broadcast(Call& call, std::span<T> d, int root) {
  auto& transport = call.transport();
  const bool is_root = call.rank() == root;
  const std::size_t per_round = transport.slot_capacity() / sizeof(T);
  for (std::size_t done = 0; done < d.size(); done += per_round) {
    const std::size_t bytes = std::min(per_round, d.size() - done) * sizeof(T);
    auto round = transport.begin_slot_round(SlotRoundKind::rooted, call.deadline());
    if (is_root) {
      std::memcpy(round.mine(bytes).data(), d.data() + done, bytes);
      round.publish(bytes);
    } else {
      round.wait_for(root);
      std::memcpy(d.data() + done, part_of(call, round, root, bytes), bytes);
    }
  }
}

// `out` holds every rank's segment (this rank's already in place): each round carries up to a
// slot of every segment, as many rounds as the largest segment needs.
template <class Call, class T>
void all_gather(Call& call, std::span<T> out, const schedule::Segments& segments) {
  auto& transport = call.transport();
  const int p = call.size(), r = call.rank();
  const std::size_t per_round = transport.slot_capacity() / sizeof(T);
  const partition::Range mine = segments[r];
  for (std::size_t done = 0, largest = segments.largest(); done < largest; done += per_round) {
    auto round = transport.begin_slot_round(SlotRoundKind::gathering, call.deadline());
    const std::size_t own = piece(mine.size(), done, per_round) * sizeof(T);
    if (own) std::memcpy(round.mine(own).data(), out.data() + mine.begin + done, own);
    round.publish(own);
    round.wait();
    for (int peer = 0; peer < p; ++peer) {
      if (peer == r) continue;
      const partition::Range range = segments[peer];
      const std::size_t bytes = piece(range.size(), done, per_round) * sizeof(T);
      const std::byte* part = part_of(call, round, peer, bytes);
      if (bytes) std::memcpy(out.data() + range.begin + done, part, bytes);
    }
  }
}

// No rank returns before every rank has begun: one round that carries nothing.
template <class Call>
void barrier(Call& call) {
  auto round = call.transport().begin_slot_round(SlotRoundKind::gathering, call.deadline());
  round.publish(0);
  round.wait();
}

}  // namespace colt::algorithms::slots
