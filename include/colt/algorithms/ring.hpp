#pragma once
// Ring algorithms: bandwidth-optimal, each rank sends (p-1)/p of the buffer per phase.
// Every segment is cut into the same number of chunks and the outer loop runs over chunks (as
// NCCL's ring does): chunk c travels the whole ring while chunk c+1 follows one hop behind, so
// transfer and reduction overlap along the ring. A rank reduces a chunk as soon as it arrives and
// forwards it at once; at most two sends run ahead of its receives, well inside the window.

#include <cstddef>
#include <cstring>
#include <span>

#include "colt/algorithms/primitives.hpp"
#include "colt/algorithms/schedule/segments.hpp"
#include "colt/algorithms/schedule/ring.hpp"

namespace colt::algorithms::ring {

template <class T>
std::span<T> sub(std::span<T> s, partition::Range r) {
  return s.subspan(r.begin, r.size());
}

// Reduce-scatter of chunk c. `in` holds every segment of this rank's contribution; partial sums
// of segments this rank forwards go to acc(range, slot), the finished segment `rank` to
// own(range). The last reduction applies the op's epilogue (avg's division).
template <class Call, class T, class Op, class Acc, class Own>
void reduce_scatter_chunk(Call& call, std::span<const T> in, const schedule::Segments& segments,
                          std::size_t chunks, std::size_t c, Op op, Acc&& acc, Own&& own) {
  namespace rs = schedule::ring;
  const int p = call.size(), r = call.rank();
  const int left = rs::left(r, p), right = rs::right(r, p);
  auto& window = call.window();
  // Step 0: the first segment leaves straight from the input.
  const partition::Range first =
      schedule::chunk_of(segments[rs::reduce_scatter_send(r, 0, p)], chunks, c);
  call.send(right, sub(in, first));
  for (int s = 0; s < p - 1; ++s) {
    const partition::Range range =
        schedule::chunk_of(segments[rs::reduce_scatter_recv(r, s, p)], chunks, c);
    if (s == p - 2) {  // segment r: fully reduced here
      call.recv_reduce(left, own(range), sub(in, range), op, call.finish_ranks());
    } else {  // partial sum: reduce, then forward it at once
      const std::size_t slot = window.reserve();
      std::span<T> dst = acc(range, slot);
      call.recv_reduce(left, dst, sub(in, range), op, unfinished);
      window.commit(slot, call.isend(right, std::span<const T>(dst)));
    }
  }
}

// All-gather of chunk c: `out` holds every segment; segment `rank` is already in place.
template <class Call, class T>
void all_gather_chunk(Call& call, std::span<T> out, const schedule::Segments& segments,
                      std::size_t chunks, std::size_t c) {
  namespace rs = schedule::ring;
  const int p = call.size(), r = call.rank();
  const int left = rs::left(r, p), right = rs::right(r, p);
  call.send(right, sub(out, schedule::chunk_of(segments[r], chunks, c)));
  for (int s = 0; s < p - 1; ++s) {
    const partition::Range range =
        schedule::chunk_of(segments[rs::all_gather_recv(r, s, p)], chunks, c);
    call.recv(left, sub(out, range));
    if (s < p - 2) call.send(right, sub(out, range));
  }
}

// out = reduction of every rank's `in` (in may equal out).
template <class Call, class T, class Op>
void all_reduce(Call& call, std::span<const T> in, std::span<T> out, Op op,
                std::size_t chunk_bytes) {
  const auto segments = schedule::Segments::even(in.size(), call.size());
  const std::size_t chunks = schedule::chunk_count(segments.largest(), chunk_bytes / sizeof(T));
  call.template scratch<T>(0, chunk_bytes + sizeof(T));
  auto in_out = [&](partition::Range range, std::size_t = 0) { return sub(out, range); };
  for (std::size_t c = 0; c < chunks; ++c) {
    reduce_scatter_chunk(call, in, segments, chunks, c, op, in_out, in_out);
    all_gather_chunk(call, out, segments, chunks, c);
  }
  call.window().wait_all();
}

// out = segment `rank` of the reduction; `in` holds all segments. Partial sums travel through
// window-slot buffers in the workspace, or through `in_place` itself when it is writable.
template <class Call, class T, class Op>
void reduce_scatter(Call& call, std::span<const T> in, std::span<T> out,
                    const schedule::Segments& segments, Op op, std::size_t chunk_bytes,
                    std::span<T> in_place = {}) {
  const std::size_t chunk_elements = chunk_bytes / sizeof(T);
  const std::size_t chunks = schedule::chunk_count(segments.largest(), chunk_elements);
  const std::size_t slot_elements = (segments.largest() + chunks - 1) / chunks;
  const partition::Range mine = segments[call.rank()];
  std::span<T> slots;
  if (in_place.empty()) {
    slots = call.template scratch<T>(slot_elements * detail::SendWindow<int>::capacity,
                                     slot_elements * sizeof(T) + sizeof(T));
  } else {
    call.template scratch<T>(0, slot_elements * sizeof(T) + sizeof(T));
  }
  auto acc = [&](partition::Range range, std::size_t slot) {
    if (!in_place.empty()) return sub(in_place, range);
    return slots.subspan(slot * slot_elements, range.size());
  };
  auto own = [&](partition::Range range) {
    return out.subspan(range.begin - mine.begin, range.size());
  };
  for (std::size_t c = 0; c < chunks; ++c)
    reduce_scatter_chunk(call, in, segments, chunks, c, op, acc, own);
  call.window().wait_all();
}

// out holds all segments; this rank's segment must already be in place.
template <class Call, class T>
void all_gather(Call& call, std::span<T> out, const schedule::Segments& segments,
                std::size_t chunk_bytes) {
  const std::size_t chunks = schedule::chunk_count(segments.largest(), chunk_bytes / sizeof(T));
  for (std::size_t c = 0; c < chunks; ++c) all_gather_chunk(call, out, segments, chunks, c);
  call.window().wait_all();
}

}  // namespace colt::algorithms::ring
