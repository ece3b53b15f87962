#pragma once
// The work of one thread of the fused reduce kernel, written once for device and host:
//   out[i] = finish(in0[i] op in1[i] op ... op in(k-1)[i])   for i in [0, count)
// in the compute type (float for the 16-bit types), folded in input order and rounded once,
// exactly as colt::reduce_many does on the host. reduce.cuh runs it on a grid; the host test
// (tests/reduce/test_reduce_body.cpp) runs the same function over every thread index in turn,
// so the split into head, vectors and tail is checked on machines without a GPU.
//
// Where the output and every input sit at the same offset from a 16-byte boundary, the
// elements from the first boundary on are read and written in 16-byte packs and only a head
// (before it) and a tail (after the last whole pack) go one by one. Otherwise no pack can be
// aligned for all of them at once and every element goes one by one (still coalesced).

#include <cstddef>

#include "colt/core/config.hpp"
#include "colt/core/ops.hpp"
#include "colt/core/types.hpp"
#include "colt/cuda/element.hpp"
#include "colt/cuda/vector_pack.hpp"

namespace colt::cuda {

// One launch reduces at most this many inputs in one pass (kernel parameters hold the pointers).
inline constexpr int max_inputs = 16;

// Packs one thread handles per loop trip: independent loads in flight hide memory latency.
inline constexpr std::size_t packs_per_trip = 4;

template <class T>
struct ReduceArgs {
  T* out = nullptr;
  const T* in[max_inputs] = {};
  int inputs = 0;
  std::size_t count = 0;
  int ranks = 0;          // > 0: apply the op's finish (avg divides by it); 0: leave unfinished
  std::size_t head = 0;   // elements before the first pack
  std::size_t packs = 0;  // whole 16-byte packs from `head` on
};

// Fills head and packs: vectors only when every pointer shares the output's misalignment.
template <class T>
void plan_packs(ReduceArgs<T>& args) {
  const std::size_t offset = misalignment(args.out);
  bool same = offset % sizeof(T) == 0;
  for (int j = 0; j < args.inputs; ++j) same = same && misalignment(args.in[j]) == offset;
  if (!same) {
    args.head = args.count;
    args.packs = 0;
    return;
  }
  const std::size_t head = offset == 0 ? 0 : (pack_bytes - offset) / sizeof(T);
  args.head = head < args.count ? head : args.count;
  args.packs = (args.count - args.head) / Pack<T>::size;
}

template <class Op, Element T>
COLT_HOST_DEVICE T reduce_finish(Op op, compute_type_t<T> acc, int ranks) {
  return from_compute<T>(ranks > 0 ? finish(op, acc, ranks) : acc);
}

template <class Op, Element T>
COLT_HOST_DEVICE void reduce_one(Op op, const ReduceArgs<T>& args, std::size_t i) {
  compute_type_t<T> acc = to_compute(args.in[0][i]);
  for (int j = 1; j < args.inputs; ++j) acc = op(acc, to_compute(args.in[j][i]));
  args.out[i] = reduce_finish<Op, T>(op, acc, args.ranks);
}

// Thread `thread` of `threads`: packs thread, thread + threads, ... (packs_per_trip of them per
// trip, each trip's loads issued before any arithmetic), then the head and tail elements.
template <class Op, Element T>
COLT_HOST_DEVICE void reduce_range(Op op, const ReduceArgs<T>& args, std::size_t thread,
                                   std::size_t threads) {
  using C = compute_type_t<T>;
  constexpr std::size_t n = Pack<T>::size;
  constexpr std::size_t u = packs_per_trip;
  const T* const* in = args.in;
  for (std::size_t base = thread; base < args.packs; base += threads * u) {
    C acc[u][n];
    Pack<T> pack[u] = {};
    COLT_UNROLL
    for (std::size_t t = 0; t < u; ++t) {
      const std::size_t v = base + t * threads;
      if (v < args.packs) pack[t] = load_pack(in[0] + args.head + v * n);
    }
    COLT_UNROLL
    for (std::size_t t = 0; t < u; ++t) COLT_UNROLL
    for (std::size_t e = 0; e < n; ++e) acc[t][e] = to_compute(pack[t].element[e]);
    for (int j = 1; j < args.inputs; ++j) {
      COLT_UNROLL
      for (std::size_t t = 0; t < u; ++t) {
        const std::size_t v = base + t * threads;
        if (v < args.packs) pack[t] = load_pack(in[j] + args.head + v * n);
      }
      COLT_UNROLL
      for (std::size_t t = 0; t < u; ++t) COLT_UNROLL
      for (std::size_t e = 0; e < n; ++e) acc[t][e] = op(acc[t][e], to_compute(pack[t].element[e]));
    }
    COLT_UNROLL
    for (std::size_t t = 0; t < u; ++t) {
      const std::size_t v = base + t * threads;
      if (v >= args.packs) continue;
      Pack<T> result;
      COLT_UNROLL
      for (std::size_t e = 0; e < n; ++e)
        result.element[e] = reduce_finish<Op, T>(op, acc[t][e], args.ranks);
      store_pack(args.out + args.head + v * n, result);
    }
  }
  // Head and tail, one element per thread.
  const std::size_t tail_start = args.head + args.packs * n;
  const std::size_t singles = args.head + (args.count - tail_start);
  for (std::size_t s = thread; s < singles; s += threads)
    reduce_one(op, args, s < args.head ? s : tail_start + (s - args.head));
}

}  // namespace colt::cuda
