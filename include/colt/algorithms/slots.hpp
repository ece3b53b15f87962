#pragma once
// Slots: collectives over a transport's shared slots (in-process ranks). A round is one hand-off
// among all ranks at once: each rank copies its part into its own slot and counts itself in;
// once every rank has, each reads all the slots. Where ring, tree and direct pass a message per
// step and pair, a call that fits one round costs one hand-off, which is what tiny messages are
// made of. Larger calls go in rounds of a slot each.
//
// all_reduce and reduce fold the slots in rank order, x0 op x1 op ... op x(p-1), as direct and
// colt::ordered do: the same bits on every rank, and the same bits as direct's. Every rank takes
// part in every round, the root of a broadcast too: a round's wait is what makes its slots free
// for reuse two rounds later (transport/detail/inprocess_slots.hpp).

#include <algorithm>
#include <cstddef>
#include <cstring>
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

// out = the rank-order fold of every rank's `in`, written on this rank where `folds` (all_reduce:
// every rank; reduce: the root); every rank checks the others' sizes either way.
template <class Call, class T, class Op>
void fold(Call& call, std::span<const T> in, std::span<T> out, Op op, bool folds) {
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
      const std::byte* part = part_of(call, round, peer, bytes);
      // Its own part from its input: the same values as its slot, one cache miss fewer.
      inputs[static_cast<std::size_t>(peer)] =
          peer == r ? static_cast<const void*>(in.data() + done) : part;
    }
    if (folds)
      reduce_many_at(
          op, out.data() + done, inputs.size(),
          [&](std::size_t i) { return static_cast<const T*>(inputs[i]); }, count, p);
  }
}

template <class Call, class T, class Op>
void all_reduce(Call& call, std::span<const T> in, std::span<T> out, Op op) {
  fold(call, in, out, op, true);
}

// The root's `out` = the rank-order fold of every rank's `in`.
template <class Call, class T, class Op>
void reduce(Call& call, std::span<const T> in, std::span<T> out, int root, Op op) {
  fold(call, in, out, op, call.rank() == root);
}

// Every rank's `d` = the root's: the root fills its slot, the others copy it.
template <class Call, class T>
void broadcast(Call& call, std::span<T> d, int root) {
  auto& transport = call.transport();
  const bool is_root = call.rank() == root;
  const std::size_t per_round = transport.slot_capacity() / sizeof(T);
  for (std::size_t done = 0; done < d.size(); done += per_round) {
    const std::size_t bytes = std::min(per_round, d.size() - done) * sizeof(T);
    auto round = transport.begin_slot_round();
    if (is_root) std::memcpy(round.mine().data(), d.data() + done, bytes);
    round.publish(is_root ? bytes : 0);
    round.wait(call.deadline());
    if (!is_root) std::memcpy(d.data() + done, part_of(call, round, root, bytes), bytes);
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
    auto round = transport.begin_slot_round();
    const std::size_t own = piece(mine.size(), done, per_round) * sizeof(T);
    if (own) std::memcpy(round.mine().data(), out.data() + mine.begin + done, own);
    round.publish(own);
    round.wait(call.deadline());
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
  auto round = call.transport().begin_slot_round();
  round.publish(0);
  round.wait(call.deadline());
}

}  // namespace colt::algorithms::slots
