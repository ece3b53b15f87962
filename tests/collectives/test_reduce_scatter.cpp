#include <doctest/doctest.h>

#include <numeric>
#include <vector>

#include "colt/collectives/reduce_scatter.hpp"
#include "matrix.hpp"
#include "ranks.hpp"
#include "reference.hpp"
#include "errors.hpp"

using namespace colt;
using namespace colt::test;

namespace {

const std::vector<Algorithm> rs_algorithms = algorithms_of(CollectiveKind::reduce_scatter);

// Even form: `c.count` elements per rank's segment.
template <class T, class Op>
void check_even(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name));
  const std::size_t total = c.count * static_cast<std::size_t>(c.ranks);
  auto inputs = random_inputs<T, Op>(c, [&](int) { return total; });
  const auto original = inputs;
  auto outputs = run_ranks<T>(c.ranks, [&](inprocess::Communicator& comm, std::vector<T>& out) {
    const auto r = static_cast<std::size_t>(comm.rank());
    if (c.in_place) {
      std::vector<T> data = inputs[r];
      auto result = reduce_scatter(comm, data, Op{}, c.algorithm);
      CHECK(result.data() == data.data() + r * c.count);
      out.assign(result.begin(), result.end());
    } else {
      out = poisoned<T>(c.count, c.seed + r);
      reduce_scatter(comm, inputs[r], out, Op{}, c.algorithm);
    }
  });
  for (int r = 0; r < c.ranks; ++r) {
    const Reference<T, Op> reference(inputs, static_cast<std::size_t>(r) * c.count, c.count);
    const std::string wrong = reference.check(outputs[static_cast<std::size_t>(r)]);
    CHECK_MESSAGE(wrong.empty(), "rank " << r << ": " << wrong);
  }
  for (int r = 0; r < c.ranks; ++r)
    CHECK(same_bits<T>(inputs[static_cast<std::size_t>(r)], original[static_cast<std::size_t>(r)]));
}

// v form: random per-rank counts (zeros included) around `c.count`.
template <class T, class Op>
void check_v(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name) << " (v)");
  const auto counts = random_counts(c.seed, c.ranks, c.count);
  const std::size_t total = std::accumulate(counts.begin(), counts.end(), std::size_t{0});
  auto inputs = random_inputs<T, Op>(c, [&](int) { return total; });
  auto outputs = run_ranks<T>(c.ranks, [&](inprocess::Communicator& comm, std::vector<T>& out) {
    const auto r = static_cast<std::size_t>(comm.rank());
    out = poisoned<T>(counts[r] + 3, c.seed + r);  // larger than needed: allowed
    const std::vector<T> tail(out.end() - 3, out.end());
    reduce_scatter_v(comm, inputs[r], out, counts, Op{}, c.algorithm);
    CHECK(same_bits<T>(std::span(out).last(3), tail));  // untouched past the count
    out.resize(counts[r]);
  });
  std::size_t offset = 0;
  for (int r = 0; r < c.ranks; ++r) {
    const std::size_t n = counts[static_cast<std::size_t>(r)];
    const Reference<T, Op> reference(inputs, offset, n);
    const std::string wrong = reference.check(outputs[static_cast<std::size_t>(r)]);
    CHECK_MESSAGE(wrong.empty(), "rank " << r << ": " << wrong);
    offset += n;
  }
}

}  // namespace

TEST_CASE("reduce_scatter: every algorithm x ranks 1..8 x small counts x type x op x form") {
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_small_cases(2, rs_algorithms, [&](const Case& c) { check_even<T, Op>(c); });
    });
  });
}

TEST_CASE("reduce_scatter_v: every algorithm x ranks 1..8 x small counts x type x op") {
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_small_cases(3, rs_algorithms, [&](const Case& c) {
        if (!c.in_place) check_v<T, Op>(c);
      });
    });
  });
}

TEST_CASE("reduce_scatter and reduce_scatter_v: large counts on a covering sample") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      if (keep_large(k)) {
        Case c = large_case(k, rs_algorithms, 2);
        c.count = large_count / static_cast<std::size_t>(c.ranks);  // about 1000003 in all
        if (k % 3 == 2) {
          c.in_place = false;
          check_v<T, Op>(c);
        } else {
          check_even<T, Op>(c);
        }
      }
      ++k;
    });
  });
}

TEST_CASE("reduce_scatter: bad arguments") {
  inprocess::launch(3, [&](inprocess::Communicator& comm) {
    std::vector<float> in(10), out(3);
    CHECK(error_kind([&] { reduce_scatter(comm, in, out, sum{}); }) == ErrorKind::invalid_argument);
    CHECK(error_kind([&] { reduce_scatter(comm, in, sum{}); }) == ErrorKind::invalid_argument);
    const std::vector<std::size_t> counts = {4, 4, 2};
    std::vector<float> small(1);
    CHECK(error_kind([&] { reduce_scatter_v(comm, in, small, counts, sum{}); }) ==
          ErrorKind::invalid_argument);
    const std::vector<std::size_t> two = {5, 5};
    CHECK(error_kind([&] { reduce_scatter_v(comm, in, out, two, sum{}); }) ==
          ErrorKind::invalid_argument);
    CHECK(error_kind([&] {
            reduce_scatter(comm, std::vector<float>(9), out, sum{}, algo::tree);
          }) == ErrorKind::invalid_argument);
  });
}

TEST_CASE("reduce_scatter_v: counts that differ between ranks raise colt::Error") {
  CHECK_THROWS_AS(
      inprocess::launch(3,
                        [&](inprocess::Communicator& comm) {
                          std::vector<std::size_t> counts = {3, 3, comm.rank() == 1 ? 4u : 3u};
                          std::vector<int> in(counts[0] + counts[1] + counts[2], 1), out(4);
                          reduce_scatter_v(comm, in, out, counts, sum{}, algo::ring);
                        }),
      Error);
}
