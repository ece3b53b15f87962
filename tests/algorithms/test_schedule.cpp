// Schedules are pure arithmetic: checked exhaustively (every p, rank, root and step in range),
// with no transport involved.

#include <doctest/doctest.h>

#include <colt/algorithms/schedule/segments.hpp>
#include <colt/algorithms/schedule/ring.hpp>
#include <colt/algorithms/schedule/tree.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "random.hpp"

namespace {

namespace sch = colt::schedule;
using colt::partition::Range;

constexpr int max_p = 64;

int ceil_log2(int p) {
  int bits = 0;
  while ((1 << bits) < p) ++bits;
  return bits;
}

// Contiguous, back to back from 0, covering [0, total).
void check_back_to_back(const sch::Segments& segs, std::size_t total) {
  std::size_t next = 0;
  for (int i = 0; i < segs.parts(); ++i) {
    const Range r = segs[i];
    CAPTURE(i);
    REQUIRE(r.begin == next);
    next += r.size();
  }
  REQUIRE(next == total);
}

}  // namespace

// Compile-time spot checks: the functions are constexpr.
static_assert(colt::partition::even_part(10, 3, 0) == Range{0, 4});
static_assert(colt::partition::even_part(10, 3, 1) == Range{4, 7});
static_assert(colt::partition::even_part(10, 3, 2) == Range{7, 10});
static_assert(sch::chunk_count(0, 4) == 1);
static_assert(sch::chunk_count(9, 0) == 9);
static_assert(sch::ring::left(0, 5) == 4 && sch::ring::right(4, 5) == 0);
static_assert(sch::tree::parent(0, 0, 8) == -1 && sch::tree::parent(6, 0, 8) == 4);

TEST_CASE("even_part: contiguous, exact cover, sizes differ by <= 1, larger first") {
  for (std::size_t count = 0; count <= 300; ++count) {
    for (int parts = 1; parts <= max_p; ++parts) {
      CAPTURE(count);
      CAPTURE(parts);
      std::size_t next = 0, smallest = count + 1, largest = 0;
      std::size_t previous = count + 1;
      for (int part = 0; part < parts; ++part) {
        const Range r = colt::partition::even_part(count, parts, part);
        CAPTURE(part);
        REQUIRE(r.begin == next);
        REQUIRE(r.size() <= previous);  // non-increasing: the longer pieces come first
        previous = r.size();
        smallest = std::min(smallest, r.size());
        largest = std::max(largest, r.size());
        next += r.size();
      }
      REQUIRE(next == count);
      REQUIRE(largest - smallest <= 1);
      // Exactly count % parts pieces are the longer ones.
      const std::size_t longer = count % static_cast<std::size_t>(parts);
      for (int part = 0; part < parts; ++part) {
        const std::size_t expect = count / static_cast<std::size_t>(parts) +
                                   (static_cast<std::size_t>(part) < longer ? 1 : 0);
        REQUIRE(colt::partition::even_part(count, parts, part).size() == expect);
      }
    }
  }
}

TEST_CASE("Segments::even: back to back, largest is the first piece's size") {
  for (std::size_t total = 0; total <= 300; ++total) {
    for (int parts = 1; parts <= max_p; ++parts) {
      CAPTURE(total);
      CAPTURE(parts);
      const auto segs = sch::Segments::even(total, parts);
      REQUIRE(segs.parts() == parts);
      check_back_to_back(segs, total);
      std::size_t largest = 0;
      for (int i = 0; i < parts; ++i) {
        REQUIRE(segs[i] == colt::partition::even_part(total, parts, i));
        largest = std::max(largest, segs[i].size());
      }
      REQUIRE(segs.largest() == largest);
    }
  }
}

TEST_CASE("Segments::from_counts: random counts (zeros included) laid out back to back") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> small(0, 40), large(0, 5000);
  for (int trial = 0; trial < 2000; ++trial) {
    const int parts = 1 + static_cast<int>(rng() % max_p);
    std::vector<std::size_t> counts(static_cast<std::size_t>(parts));
    std::size_t total = 0, largest = 0;
    const int zero_every = 2 + static_cast<int>(rng() % 4);  // plenty of empty segments
    for (auto& c : counts) {
      c = (rng() % static_cast<std::uint64_t>(zero_every) == 0)
              ? 0
              : (trial % 2 ? large(rng) : small(rng));
      total += c;
      largest = std::max(largest, c);
    }
    if (trial % 50 == 0) {  // now and then every segment is empty
      std::fill(counts.begin(), counts.end(), std::size_t{0});
      total = 0;
      largest = 0;
    }
    CAPTURE(trial);
    CAPTURE(parts);
    const auto segs = sch::Segments::from_counts(std::span<const std::size_t>(counts));
    REQUIRE(segs.parts() == parts);
    check_back_to_back(segs, total);
    for (int i = 0; i < parts; ++i) REQUIRE(segs[i].size() == counts[static_cast<std::size_t>(i)]);
    REQUIRE(segs.largest() == largest);
  }
}

namespace {

// Every segment cut into chunk_count(largest, e) chunks: each chunk list covers its segment
// contiguously, no chunk exceeds e (e > 0), and all segments have the same number of chunks.
void check_chunking(const sch::Segments& segs, std::size_t e) {
  const std::size_t chunks = sch::chunk_count(segs.largest(), e);
  REQUIRE(chunks >= 1);
  if (e > 0 && segs.largest() > 0) {
    // The fewest chunks that keep every chunk <= e.
    REQUIRE(chunks == (segs.largest() + e - 1) / e);
  }
  for (int i = 0; i < segs.parts(); ++i) {
    const Range seg = segs[i];
    CAPTURE(i);
    std::size_t next = seg.begin;
    for (std::size_t c = 0; c < chunks; ++c) {
      const Range piece = sch::chunk_of(seg, chunks, c);
      CAPTURE(c);
      REQUIRE(piece.begin == next);
      if (e > 0) REQUIRE(piece.size() <= e);
      next += piece.size();
    }
    REQUIRE(next == seg.begin + seg.size());
  }
}

}  // namespace

TEST_CASE("chunk_count / chunk_of: same chunk count everywhere, covers, no chunk > e") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ull);
  SUBCASE("even segments") {
    for (std::size_t total = 0; total <= 300; total += 1 + rng() % 7) {
      for (int parts = 1; parts <= max_p; parts += 1 + static_cast<int>(rng() % 3)) {
        for (std::size_t e : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3},
                              std::size_t{7}, std::size_t{1 + rng() % 64}, std::size_t{1000}}) {
          CAPTURE(total);
          CAPTURE(parts);
          CAPTURE(e);
          check_chunking(sch::Segments::even(total, parts), e);
        }
      }
    }
  }
  SUBCASE("explicit counts") {
    for (int trial = 0; trial < 500; ++trial) {
      const int parts = 1 + static_cast<int>(rng() % max_p);
      std::vector<std::size_t> counts(static_cast<std::size_t>(parts));
      for (auto& c : counts) c = (rng() % 3 == 0) ? 0 : rng() % 700;
      const std::size_t e = rng() % 5 == 0 ? 0 : 1 + rng() % 200;
      CAPTURE(trial);
      CAPTURE(parts);
      CAPTURE(e);
      check_chunking(sch::Segments::from_counts(std::span<const std::size_t>(counts)), e);
    }
  }
  SUBCASE("chunk_count basics") {
    for (std::size_t largest = 0; largest <= 300; ++largest) {
      for (std::size_t e = 0; e <= 40; ++e) {
        const std::size_t chunks = sch::chunk_count(largest, e);
        const std::size_t ee = e == 0 ? 1 : e;
        CAPTURE(largest);
        CAPTURE(e);
        REQUIRE(chunks >= 1);
        REQUIRE(chunks * ee >= largest);                       // enough chunks
        if (chunks > 1) REQUIRE((chunks - 1) * ee < largest);  // and no more than needed
      }
    }
  }
}

TEST_CASE("ring: left and right are inverse neighbours") {
  for (int p = 1; p <= max_p; ++p) {
    for (int r = 0; r < p; ++r) {
      CAPTURE(p);
      CAPTURE(r);
      const int right = sch::ring::right(r, p), left = sch::ring::left(r, p);
      REQUIRE(right >= 0);
      REQUIRE(right < p);
      REQUIRE(left >= 0);
      REQUIRE(left < p);
      REQUIRE(sch::ring::left(right, p) == r);
      REQUIRE(sch::ring::right(left, p) == r);
      REQUIRE(right == (r + 1) % p);
    }
  }
}

TEST_CASE("ring reduce-scatter: forwards what it received, ends owning segment r") {
  namespace ring = sch::ring;
  for (int p = 1; p <= max_p; ++p) {
    for (int r = 0; r < p; ++r) {
      CAPTURE(p);
      CAPTURE(r);
      std::vector<int> received(static_cast<std::size_t>(p), 0);
      int last = -1;
      for (int s = 0; s < p - 1; ++s) {
        CAPTURE(s);
        const int send = ring::reduce_scatter_send(r, s, p);
        const int recv = ring::reduce_scatter_recv(r, s, p);
        REQUIRE(send >= 0);
        REQUIRE(send < p);
        REQUIRE(recv >= 0);
        REQUIRE(recv < p);
        // What r receives at step s comes from its left neighbour's send at step s.
        REQUIRE(recv == ring::reduce_scatter_send(ring::left(r, p), s, p));
        // And r sends it on (after adding its own contribution) at step s+1.
        if (s + 1 < p - 1) REQUIRE(ring::reduce_scatter_send(r, s + 1, p) == recv);
        ++received[static_cast<std::size_t>(recv)];
        last = recv;
      }
      const int excluded = ring::left(r, p);
      for (int seg = 0; seg < p; ++seg) {
        CAPTURE(seg);
        if (p > 1 && seg == excluded)
          REQUIRE(received[static_cast<std::size_t>(seg)] == 0);
        else if (p > 1)
          REQUIRE(received[static_cast<std::size_t>(seg)] == 1);
        else
          REQUIRE(received[static_cast<std::size_t>(seg)] == 0);
      }
      if (p > 1) REQUIRE(last == r);
    }
  }
}

TEST_CASE("ring all-gather: starts with own segment, forwards, gathers all p once") {
  namespace ring = sch::ring;
  for (int p = 1; p <= max_p; ++p) {
    for (int r = 0; r < p; ++r) {
      CAPTURE(p);
      CAPTURE(r);
      std::vector<int> have(static_cast<std::size_t>(p), 0);
      ++have[static_cast<std::size_t>(r)];  // own segment
      if (p > 1) REQUIRE(ring::all_gather_send(r, 0, p) == r);
      for (int s = 0; s < p - 1; ++s) {
        CAPTURE(s);
        const int send = ring::all_gather_send(r, s, p);
        const int recv = ring::all_gather_recv(r, s, p);
        REQUIRE(send >= 0);
        REQUIRE(send < p);
        REQUIRE(recv >= 0);
        REQUIRE(recv < p);
        REQUIRE(recv == ring::all_gather_send(ring::left(r, p), s, p));
        if (s + 1 < p - 1) REQUIRE(ring::all_gather_send(r, s + 1, p) == recv);
        // A rank only sends what it already holds.
        REQUIRE(have[static_cast<std::size_t>(send)] == 1);
        ++have[static_cast<std::size_t>(recv)];
      }
      for (int seg = 0; seg < p; ++seg) {
        CAPTURE(seg);
        REQUIRE(have[static_cast<std::size_t>(seg)] == 1);
      }
    }
  }
}

TEST_CASE("tree (binomial): parent/children consistent, a tree rooted at root, subtree sizes") {
  namespace tree = sch::tree;
  for (int p = 1; p <= max_p; ++p) {
    const int max_depth = ceil_log2(p);
    for (int root = 0; root < p; ++root) {
      CAPTURE(p);
      CAPTURE(root);
      REQUIRE(tree::parent(root, root, p) == -1);
      // children[r]: the list for_each_child produces, with masks.
      std::vector<std::vector<int>> children(static_cast<std::size_t>(p));
      for (int r = 0; r < p; ++r) {
        CAPTURE(r);
        REQUIRE(tree::absolute(tree::relative(r, root, p), root, p) == r);
        int previous_mask = 0;
        const int v = tree::relative(r, root, p);
        tree::for_each_child(r, root, p, [&](int child, int mask) {
          CAPTURE(child);
          CAPTURE(mask);
          REQUIRE(mask > previous_mask);      // smallest mask first
          REQUIRE((mask & (mask - 1)) == 0);  // a power of two
          REQUIRE(child == tree::absolute(v + mask, root, p));
          REQUIRE(child >= 0);
          REQUIRE(child < p);
          previous_mask = mask;
          children[static_cast<std::size_t>(r)].push_back(child);
        });
        // A broadcast's order: the same children, largest subtree first.
        std::vector<int> largest_first;
        tree::for_each_child_largest_first(r, root, p, [&](int child, int mask) {
          REQUIRE(child == tree::absolute(v + mask, root, p));
          largest_first.push_back(child);
        });
        const auto& list = children[static_cast<std::size_t>(r)];
        REQUIRE(std::vector<int>(list.rbegin(), list.rend()) == largest_first);
      }
      int edges = 0;
      for (int r = 0; r < p; ++r) {
        CAPTURE(r);
        const int par = tree::parent(r, root, p);
        if (r == root) {
          REQUIRE(par == -1);
        } else {
          REQUIRE(par >= 0);
          REQUIRE(par < p);
          const auto& list = children[static_cast<std::size_t>(par)];
          REQUIRE(std::count(list.begin(), list.end(), r) == 1);
        }
        // Every listed child names r as its parent.
        for (int c : children[static_cast<std::size_t>(r)]) {
          CAPTURE(c);
          REQUIRE(tree::parent(c, root, p) == r);
          ++edges;
        }
        // Walking up reaches the root within ceil(log2 p) steps (so no cycles).
        int at = r, depth = 0;
        while (at != root && depth <= max_depth) {
          at = tree::parent(at, root, p);
          ++depth;
          REQUIRE(at >= 0);
        }
        REQUIRE(at == root);
        REQUIRE(depth <= max_depth);
      }
      REQUIRE(edges == p - 1);
      // Subtree sizes: bottom-up over relative ranks (children have larger relative ranks).
      std::vector<int> size(static_cast<std::size_t>(p), 0);
      for (int v = p - 1; v >= 0; --v) {
        const int r = tree::absolute(v, root, p);
        int s = 1;
        for (int c : children[static_cast<std::size_t>(r)]) {
          REQUIRE(tree::relative(c, root, p) > v);
          s += size[static_cast<std::size_t>(c)];
        }
        size[static_cast<std::size_t>(r)] = s;
        CAPTURE(r);
        REQUIRE(tree::subtree_size(r, root, p) == s);
      }
      REQUIRE(tree::subtree_size(root, root, p) == p);
    }
  }
}
