#pragma once
// The soak: a long run of collectives of random kind, size, element type, op, algorithm and
// form (in place or not), every result checked against the reference. The schedule comes from
// the seed alone, so every rank draws the same calls; each rank draws every rank's input from
// the same seed too, so it can compute the reference on its own.
//
// run_soak runs the schedule twice: the first pass grows what the communicator keeps (its
// workspace and request arrays) to the largest call; in the second no call may allocate (the
// counting allocator sees every operator new made inside a colt call on this thread).

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "counting_allocator.hpp"
#include "matrix.hpp"
#include "random.hpp"
#include "reference.hpp"

namespace colt::test {

struct SoakStats {
  long calls = 0;
  long wrong = 0;
  long first_pass_allocations = 0;
  long steady_allocations = 0;
  long steady_bytes = 0;
  std::string first_wrong;
};

namespace soak {

enum Kind {
  k_all_reduce,
  k_reduce_scatter,
  k_all_gather,
  k_broadcast,
  k_reduce,
  k_scatter,
  k_gather,
  k_barrier,
  kinds
};

struct Draw {
  Kind kind;
  int type, op, root;
  std::size_t count;  // per rank, per block
  Algorithm algorithm;
  bool in_place;
  std::uint64_t data_seed;
};

inline Draw draw(std::mt19937_64& rng, int p) {
  Draw d{};
  d.kind = static_cast<Kind>(rng() % kinds);
  d.type = static_cast<int>(rng() % 6);
  d.op = static_cast<int>(rng() % 5);
  d.root = static_cast<int>(rng() % static_cast<unsigned>(p));
  const unsigned size_class = static_cast<unsigned>(rng() % 100);
  d.count = size_class < 5    ? 0
            : size_class < 70 ? rng() % 64
            : size_class < 97 ? rng() % 4096
                              : rng() % 65536;
  static constexpr Algorithm choices[] = {algo::automatic, algo::ring, algo::tree, algo::direct,
                                          colt::ordered};
  d.algorithm = choices[rng() % 5];
  const CollectiveKind ck[] = {CollectiveKind::all_reduce, CollectiveKind::reduce_scatter,
                               CollectiveKind::all_gather, CollectiveKind::broadcast,
                               CollectiveKind::reduce,     CollectiveKind::scatter,
                               CollectiveKind::gather,     CollectiveKind::barrier};
  if (!supports(ck[d.kind], d.algorithm)) d.algorithm = algo::automatic;
  d.in_place = rng() & 1;
  d.data_seed = rng();
  return d;
}

template <class T, class Op>
std::vector<std::vector<T>> inputs(const Draw& d, int p, std::size_t per_rank) {
  std::mt19937_64 rng(d.data_seed);
  std::vector<std::vector<T>> in(static_cast<std::size_t>(p));
  for (auto& v : in) v = random_buffer<T, Op>(rng, per_rank);
  return in;
}

// One call of a reducing kind (all_reduce, reduce_scatter, reduce) with element T and op Op.
template <class Comm, class T, class Op>
std::string reducing(Comm& comm, const Draw& d, SoakStats& stats, bool counting) {
  const int p = comm.size(), r = comm.rank();
  const auto P = static_cast<std::size_t>(p), R = static_cast<std::size_t>(r);
  const std::size_t n = d.kind == k_reduce_scatter ? d.count * P : d.count;
  auto in = inputs<T, Op>(d, p, n);
  std::vector<T> data = in[R], out(d.kind == k_reduce_scatter ? d.count : n);
  auto call = [&] {
    CountAllocations scope;
    if (d.kind == k_all_reduce) {
      if (d.in_place)
        all_reduce(comm, data, Op{}, d.algorithm);
      else
        all_reduce(comm, data, out, Op{}, d.algorithm);
    } else if (d.kind == k_reduce_scatter) {
      if (d.in_place) {
        auto mine = reduce_scatter(comm, data, Op{}, d.algorithm);
        std::copy(mine.begin(), mine.end(), out.begin());
      } else {
        reduce_scatter(comm, data, out, Op{}, d.algorithm);
      }
    } else {
      if (d.in_place)
        reduce(comm, data, d.root, Op{}, d.algorithm);
      else
        reduce(comm, data, out, d.root, Op{}, d.algorithm);
    }
  };
  const long before = allocation_count().allocations.load();
  call();
  const long made = allocation_count().allocations.load() - before;
  (counting ? stats.steady_allocations : stats.first_pass_allocations) += made;
  if (d.kind == k_all_reduce || d.kind == k_reduce) {
    if (d.kind == k_reduce && r != d.root) return {};
    std::span<const T> got = d.in_place ? std::span<const T>(data) : std::span<const T>(out);
    return Reference<T, Op>(in, 0, n).check(got);
  }
  return Reference<T, Op>(in, R * d.count, d.count).check(std::span<const T>(out));
}

// One call of a kind that only moves data.
template <class Comm, class T>
std::string moving(Comm& comm, const Draw& d, SoakStats& stats, bool counting) {
  const int p = comm.size(), r = comm.rank();
  const auto P = static_cast<std::size_t>(p), R = static_cast<std::size_t>(r);
  auto in = inputs<T, sum>(d, p, d.kind == k_scatter ? d.count * P : d.count);
  std::vector<T> all(d.count * P), mine = in[R];
  const std::vector<T>& blocks = in[static_cast<std::size_t>(d.root)];
  const long before = allocation_count().allocations.load();
  {
    CountAllocations scope;
    switch (d.kind) {
      case k_all_gather:
        if (d.in_place) {
          std::copy(mine.begin(), mine.end(),
                    all.begin() + static_cast<std::ptrdiff_t>(R * d.count));
          all_gather(comm, all, d.algorithm);
        } else {
          all_gather(comm, mine, all, d.algorithm);
        }
        break;
      case k_broadcast: broadcast(comm, mine, d.root, d.algorithm); break;
      case k_scatter:
        scatter(comm, blocks, std::span<T>(all).first(d.count), d.root, d.algorithm);
        break;
      case k_gather: gather(comm, mine, all, d.root, d.algorithm); break;
      default: barrier(comm); break;
    }
  }
  const long made = allocation_count().allocations.load() - before;
  (counting ? stats.steady_allocations : stats.first_pass_allocations) += made;
  std::vector<T> expected, got;
  if (d.kind == k_all_gather || (d.kind == k_gather && r == d.root)) {
    got = all;
    for (const auto& v : in) expected.insert(expected.end(), v.begin(), v.end());
  } else if (d.kind == k_broadcast) {
    got = mine;
    expected = in[static_cast<std::size_t>(d.root)];
  } else if (d.kind == k_scatter) {
    got.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(d.count));
    expected.assign(blocks.begin() + static_cast<std::ptrdiff_t>(R * d.count),
                    blocks.begin() + static_cast<std::ptrdiff_t>((R + 1) * d.count));
  }
  if (!same_bits<T>(got, expected)) return "moved data differs from the source";
  return {};
}

template <class Comm, class T>
std::string one_typed(Comm& comm, const Draw& d, SoakStats& stats, bool counting) {
  if (d.kind == k_all_reduce || d.kind == k_reduce_scatter || d.kind == k_reduce) {
    switch (d.op) {
      case 0: return reducing<Comm, T, sum>(comm, d, stats, counting);
      case 1: return reducing<Comm, T, prod>(comm, d, stats, counting);
      case 2: return reducing<Comm, T, min>(comm, d, stats, counting);
      case 3: return reducing<Comm, T, max>(comm, d, stats, counting);
      default: return reducing<Comm, T, avg>(comm, d, stats, counting);
    }
  }
  return moving<Comm, T>(comm, d, stats, counting);
}

// The drawn type among those this build's matrix keeps (-Dtest_types, matrix.hpp): all six in
// the plain build, in the order the draw numbers them; fewer under the sanitizers, whose builds
// would otherwise instantiate every collective for every type here again.
template <class Comm>
std::string one(Comm& comm, const Draw& d, SoakStats& stats, bool counting) {
  std::string result;
  const int wanted = d.type % type_count(all_types{});
  int index = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    if (index++ == wanted) result = one_typed<Comm, T>(comm, d, stats, counting);
  });
  return result;
}

}  // namespace soak

// `calls` random collectives on comm, twice over (see above).
template <class Comm>
SoakStats run_soak(Comm& comm, long calls, std::uint64_t seed) {
  SoakStats stats;
  for (int pass = 0; pass < 2; ++pass) {
    std::mt19937_64 rng(seed);
    for (long i = 0; i < calls; ++i) {
      soak::Draw d = soak::draw(rng, comm.size());
      if (pass == 1) d.data_seed ^= 0x5EED;  // same shapes, new data
      std::string wrong = soak::one(comm, d, stats, pass == 1);
      ++stats.calls;
      if (!wrong.empty() && stats.wrong++ == 0)
        stats.first_wrong = "call " + std::to_string(i) + " (kind " + std::to_string(d.kind) +
                            ", type " + std::to_string(d.type) + ", op " + std::to_string(d.op) +
                            ", count " + std::to_string(d.count) + "): " + wrong;
    }
  }
  return stats;
}

}  // namespace colt::test
