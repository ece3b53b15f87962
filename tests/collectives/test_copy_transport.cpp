// Every collective and algorithm over a transport without zero-copy receives (the path MPI and
// UCX take), on the full rank and small-count product for a subset of types and all ops.
#include <doctest/doctest.h>

#include <numeric>
#include <vector>

#include "colt/colt.hpp"
#include "copy_transport.hpp"
#include "errors.hpp"
#include "matrix.hpp"
#include "ranks.hpp"
#include "reference.hpp"

using namespace colt;
using namespace colt::test;

namespace {

using some_types = per_size_types;

template <class T, class Fn>
std::vector<std::vector<T>> run_copying(int ranks, Fn&& fn) {
  std::vector<std::vector<T>> results(static_cast<std::size_t>(ranks));
  launch_copying(ranks, [&](CopyCommunicator& comm) {
    fn(comm, results[static_cast<std::size_t>(comm.rank())]);
  });
  return results;
}

template <class T, class Op>
void check_reductions(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name));
  const auto p = static_cast<std::size_t>(c.ranks);
  auto inputs = random_inputs<T, Op>(c, [&](int) { return c.count * p; });
  // all_reduce, in place or not.
  auto all = run_copying<T>(c.ranks, [&](CopyCommunicator& comm, std::vector<T>& out) {
    const auto r = static_cast<std::size_t>(comm.rank());
    out = c.in_place ? inputs[r] : poisoned<T>(c.count * p, c.seed + r);
    if (c.in_place)
      all_reduce(comm, out, Op{}, c.algorithm);
    else
      all_reduce(comm, inputs[r], out, Op{}, c.algorithm);
  });
  const Reference<T, Op> whole(inputs, 0, c.count * p);
  for (std::size_t r = 0; r < p; ++r) {
    const std::string wrong = whole.check(all[r]);
    CHECK_MESSAGE(wrong.empty(), "all_reduce rank " << r << ": " << wrong);
  }
  // reduce_scatter (ring or direct), reduce (tree or direct) to a random root.
  const Algorithm rs = c.algorithm == algo::tree ? algo::ring : c.algorithm;
  auto parts = run_copying<T>(c.ranks, [&](CopyCommunicator& comm, std::vector<T>& out) {
    out = poisoned<T>(c.count, c.seed);
    reduce_scatter(comm, inputs[static_cast<std::size_t>(comm.rank())], out, Op{}, rs);
  });
  for (std::size_t r = 0; r < p; ++r) {
    const std::string wrong = Reference<T, Op>(inputs, r * c.count, c.count).check(parts[r]);
    CHECK_MESSAGE(wrong.empty(), "reduce_scatter rank " << r << ": " << wrong);
  }
  const Algorithm rd = c.algorithm == algo::ring ? algo::tree : c.algorithm;
  auto rooted = run_copying<T>(c.ranks, [&](CopyCommunicator& comm, std::vector<T>& out) {
    out = poisoned<T>(c.count * p, c.seed);
    reduce(comm, inputs[static_cast<std::size_t>(comm.rank())], out, c.root, Op{}, rd);
  });
  const std::string wrong = whole.check(rooted[static_cast<std::size_t>(c.root)]);
  CHECK_MESSAGE(wrong.empty(), "reduce: " << wrong);
}

template <class T>
void check_movement(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>)));
  const auto counts = random_counts(c.seed, c.ranks, c.count);
  const std::size_t total = std::accumulate(counts.begin(), counts.end(), std::size_t{0});
  auto inputs = random_inputs<T>(c, [&](int r) { return counts[static_cast<std::size_t>(r)]; });
  std::vector<T> expected;
  for (const auto& in : inputs) expected.insert(expected.end(), in.begin(), in.end());
  const Algorithm ag = c.algorithm == algo::tree ? algo::ring : c.algorithm;
  const Algorithm bc = c.algorithm == algo::ring ? algo::tree : c.algorithm;
  auto gathered = run_copying<T>(c.ranks, [&](CopyCommunicator& comm, std::vector<T>& out) {
    const auto r = static_cast<std::size_t>(comm.rank());
    out = poisoned<T>(total, c.seed + r);
    all_gather_v(comm, inputs[r], out, counts, ag);
    std::vector<T> root_data = comm.rank() == c.root ? expected : poisoned<T>(total, c.seed);
    broadcast(comm, root_data, c.root, bc);
    CHECK(same_bits<T>(root_data, expected));
    std::vector<T> mine(counts[r]);
    scatter_v(comm, expected, mine, counts, c.root);
    CHECK(same_bits<T>(mine, inputs[r]));
    std::vector<T> back(comm.rank() == c.root ? total : 0);
    gather_v(comm, mine, back, counts, c.root);
    if (comm.rank() == c.root) CHECK(same_bits<T>(back, expected));
    barrier(comm);
  });
  for (std::size_t r = 0; r < gathered.size(); ++r)
    CHECK_MESSAGE(same_bits<T>(gathered[r], expected), "rank " << r);
}

}  // namespace

TEST_CASE("copying transport: reductions, every algorithm x ranks 1..8 x small counts x op") {
  for_each(some_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_small_cases(11, {algo::ring, algo::tree, algo::direct},
                      [&](const Case& c) { check_reductions<T, Op>(c); });
    });
  });
}

TEST_CASE("copying transport: data movement, every algorithm x ranks 1..8 x small counts") {
  for_each(some_types{}, [&]<class T>(std::type_identity<T>) {
    for_small_cases(12, {algo::ring, algo::tree, algo::direct},
                    [&](const Case& c) { check_movement<T>(c); });
  });
}

TEST_CASE("copying transport: large counts use the workspace staging in chunks") {
  for (Algorithm a : {algo::ring, algo::tree, algo::direct}) {
    Case c{3 + static_cast<int>(a), 350003, false, a, 1, base_seed() + 99};
    check_reductions<float, sum>(c);
  }
}

TEST_CASE("copying transport: slots, named on a transport without shared slots, is refused") {
  launch_copying(2, [&](CopyCommunicator& comm) {
    std::vector<float> data(3, 1.0f);
    CHECK(error_kind([&] { all_reduce(comm, data, sum{}, algo::slots); }) ==
          ErrorKind::invalid_argument);
    all_reduce(comm, data, sum{});  // refused before any traffic: the communicator still works
    CHECK(data[0] == 2.0f);
  });
}
