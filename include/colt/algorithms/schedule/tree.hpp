#pragma once
// Binomial tree rooted at `root`, over ranks relative to the root (vrank = rank - root mod p).
// A rank's parent clears its lowest set bit; its children add each smaller power of two that
// stays below p. Children are listed smallest subtree first, the order reductions use, so the
// result is fixed for given p and root.

namespace colt::schedule::tree {

constexpr int relative(int rank, int root, int p) { return (rank - root + p) % p; }
constexpr int absolute(int vrank, int root, int p) { return (vrank + root) % p; }

constexpr int lowest_bit(int v) { return v & -v; }

// Parent's absolute rank, or -1 for the root.
constexpr int parent(int rank, int root, int p) {
  const int v = relative(rank, root, p);
  return v == 0 ? -1 : absolute(v - lowest_bit(v), root, p);
}

// The masks m (powers of two) for which vrank + m is a child: m < lowest_bit(vrank) (any m for
// the root) and vrank + m < p. Calls fn(child_absolute_rank, mask) smallest mask first.
template <class Fn>
constexpr void for_each_child(int rank, int root, int p, Fn&& fn) {
  const int v = relative(rank, root, p);
  const int limit = v == 0 ? p : lowest_bit(v);
  for (int mask = 1; mask < limit && v + mask < p; mask <<= 1)
    fn(absolute(v + mask, root, p), mask);
}

// The same children, largest subtree first: a broadcast's order. The child with the most ranks
// below it starts forwarding first, so the last rank hears after ceil(log2 p) sends on the
// critical path; smallest first (a reduction's order) makes a sender's later children wait for
// its earlier sends, which costs most where each send costs its sender (across nodes).
template <class Fn>
constexpr void for_each_child_largest_first(int rank, int root, int p, Fn&& fn) {
  const int v = relative(rank, root, p);
  const int limit = v == 0 ? p : lowest_bit(v);
  int largest = 0;
  for (int mask = 1; mask < limit && v + mask < p; mask <<= 1) largest = mask;
  for (int mask = largest; mask > 0; mask >>= 1) fn(absolute(v + mask, root, p), mask);
}

// Number of ranks in the subtree of `rank` (itself included): relative ranks [v, v + size).
constexpr int subtree_size(int rank, int root, int p) {
  const int v = relative(rank, root, p);
  const int span = v == 0 ? p : lowest_bit(v);
  return v + span < p ? span : p - v;
}

}  // namespace colt::schedule::tree
