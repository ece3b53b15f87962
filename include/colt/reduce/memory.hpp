#pragma once
// Memory spaces: how a collective copies and reduces the buffers it is given, chosen at compile
// time. The algorithms (primitives.hpp, direct.hpp) call these instead of std::copy and the host
// reducers, so one schedule serves host and device buffers.
//
// A space provides copy(dst, src, count) and reduce(op, out, inputs, count, ranks), both of which
// may run asynchronously, and wait(), after which every copy and reduction it started is done and
// visible to the host and to the other ranks. HostMemory does everything at once. Device spaces
// (colt::cuda::Memory, the tests' SimulatedDevice) set `device` and also lend host staging
// buffers, staging<T>(count, buffer), for transports that cannot move device memory themselves.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <span>

#include "colt/core/ops.hpp"
#include "colt/reduce/host.hpp"

namespace colt {

struct HostMemory {
  static constexpr bool device = false;
  using stream_type = int;  // unused: host work is done when the call returns

  template <class T>
  void copy(T* dst, const T* src, std::size_t count) {
    if (dst != src) std::copy_n(src, count, dst);
  }
  template <class Op, class T>
  void reduce(Op op, T* out, std::span<const T* const> inputs, std::size_t count, int ranks) {
    reduce_many(op, out, inputs, count, ranks);
  }
  void wait() {}
};

template <class M>
concept MemorySpace =
    requires(M m, float* out, const float* in, std::span<const float* const> inputs) {
      { M::device } -> std::convertible_to<bool>;
      m.copy(out, in, std::size_t{});
      m.reduce(sum{}, out, inputs, std::size_t{}, 1);
      m.wait();
    };

template <class M>
concept DeviceSpace = MemorySpace<M> && M::device && requires(M m) {
  { m.template staging<float>(std::size_t{}, 0) } -> std::same_as<std::span<float>>;
};

// out = finish(in) in `memory` (the whole result of a one-rank reduction); enqueued, not waited.
template <class Memory, class Op, class T>
void finish_copy_in(Memory& memory, Op op, T* out, const T* in, std::size_t count, int ranks) {
  if constexpr (AveragingOp<Op>) {
    if (ranks != 1) {
      const T* inputs[] = {in};
      return memory.reduce(op, out, std::span<const T* const>(inputs), count, ranks);
    }
  }
  memory.copy(out, in, count);
}

// out = finish(in) on the host: the result of a reduction over one rank (and the copy a one-rank
// call makes).
template <class Op, Element T>
  requires ReductionFor<Op, T>
void finish_copy(Op op, T* out, const T* in, std::size_t count, int ranks) {
  HostMemory memory;
  finish_copy_in(memory, op, out, in, count, ranks);
}

}  // namespace colt
