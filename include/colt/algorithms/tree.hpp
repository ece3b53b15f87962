#pragma once
// Binomial-tree algorithms: log2(p) hops, for small messages where latency dominates. Buffers
// are cut into chunks that flow up (reduce) or down (broadcast) the tree one behind the other, so
// a long message keeps every level busy. The tree is acyclic, so bounded send windows cannot
// deadlock: the root always makes progress.

#include <cstddef>
#include <span>

#include "colt/algorithms/primitives.hpp"
#include "colt/algorithms/schedule/segments.hpp"
#include "colt/algorithms/schedule/tree.hpp"

namespace colt::algorithms::tree {

// Reduction of every rank's `in` into `acc` at the root. On other ranks `acc` receives the
// partial of their subtree (leaves send `in` directly); an empty `acc` there means "use the
// workspace". The root's last
// reduction applies the op's epilogue; a root without children (p == 1) is the caller's case.
template <class Call, class T, class Op>
void reduce(Call& call, std::span<const T> in, std::span<T> acc, int root, Op op,
            std::size_t chunk_bytes) {
  namespace tr = schedule::tree;
  const int p = call.size(), r = call.rank();
  const int parent = tr::parent(r, root, p);
  int children = 0;
  tr::for_each_child(r, root, p, [&](int, int) { ++children; });
  const std::size_t chunks = schedule::chunk_count(in.size(), chunk_bytes / sizeof(T));
  const std::size_t staging_bytes = (in.size() + chunks - 1) / chunks * sizeof(T) + sizeof(T);
  if (acc.empty() && children > 0)
    acc = call.template scratch<T>(in.size(), staging_bytes);
  else
    call.template scratch<T>(0, staging_bytes);
  for (std::size_t c = 0; c < chunks; ++c) {
    const partition::Range range = schedule::chunk_of({0, in.size()}, chunks, c);
    std::span<const T> mine = in.subspan(range.begin, range.size());
    std::span<T> dst = acc.subspan(range.begin, range.size());
    int received = 0;
    tr::for_each_child(r, root, p, [&](int child, int) {
      const bool last = ++received == children;
      const int ranks = parent < 0 && last ? call.finish_ranks() : unfinished;
      call.recv_reduce(child, dst, received == 1 ? mine : std::span<const T>(dst), op, ranks);
    });
    if (parent >= 0) call.send(parent, children ? std::span<const T>(dst) : mine);
  }
  call.window().wait_all();
}

// The root's `data` to every rank.
template <class Call, class T>
void broadcast(Call& call, std::span<T> data, int root, std::size_t chunk_bytes) {
  namespace tr = schedule::tree;
  const int p = call.size(), r = call.rank();
  const int parent = tr::parent(r, root, p);
  const std::size_t chunks = schedule::chunk_count(data.size(), chunk_bytes / sizeof(T));
  for (std::size_t c = 0; c < chunks; ++c) {
    const partition::Range range = schedule::chunk_of({0, data.size()}, chunks, c);
    std::span<T> piece = data.subspan(range.begin, range.size());
    if (parent >= 0) call.recv(parent, piece);
    tr::for_each_child_largest_first(r, root, p, [&](int child, int) { call.send(child, piece); });
  }
  call.window().wait_all();
}

// Reduce to rank 0, then broadcast: every rank gets the root's bits.
template <class Call, class T, class Op>
void all_reduce(Call& call, std::span<const T> in, std::span<T> out, Op op,
                std::size_t chunk_bytes) {
  reduce(call, in, out, 0, op, chunk_bytes);
  broadcast(call, out, 0, chunk_bytes);
}

}  // namespace colt::algorithms::tree
