#include <doctest/doctest.h>

#include <chrono>
#include <numeric>
#include <vector>

#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/gather.hpp"
#include "colt/collectives/reduce_scatter.hpp"
#include "colt/collectives/scatter.hpp"
#include "matrix.hpp"
#include "ranks.hpp"
#include "errors.hpp"

using namespace colt;
using namespace colt::test;

namespace {

const std::vector<Algorithm> ag_algorithms = algorithms_of(CollectiveKind::all_gather);

// Every rank must hold all inputs back to back, bit for bit.
template <class T>
void check_gathered(const std::vector<std::vector<T>>& inputs,
                    const std::vector<std::vector<T>>& outputs) {
  std::vector<T> expected;
  for (const auto& in : inputs) expected.insert(expected.end(), in.begin(), in.end());
  for (std::size_t r = 0; r < outputs.size(); ++r)
    CHECK_MESSAGE(same_bits<T>(outputs[r], expected), "rank " << r);
}

template <class T>
void check_even(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>)));
  auto inputs = random_inputs<T>(c, [&](int) { return c.count; });
  auto outputs = run_ranks<T>(c.ranks, [&](inprocess::Communicator& comm, std::vector<T>& out) {
    const auto r = static_cast<std::size_t>(comm.rank());
    out = poisoned<T>(c.count * static_cast<std::size_t>(c.ranks), c.seed + r);
    if (c.in_place) {
      std::copy(inputs[r].begin(), inputs[r].end(),
                out.begin() + static_cast<std::ptrdiff_t>(r * c.count));
      all_gather(comm, out, c.algorithm);
    } else {
      all_gather(comm, inputs[r], out, c.algorithm);
    }
  });
  check_gathered(inputs, outputs);
}

template <class T>
void check_v(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>)) << " (v)");
  const auto counts = random_counts(c.seed, c.ranks, c.count);
  const std::size_t total = std::accumulate(counts.begin(), counts.end(), std::size_t{0});
  auto inputs = random_inputs<T>(c, [&](int r) { return counts[static_cast<std::size_t>(r)]; });
  auto outputs = run_ranks<T>(c.ranks, [&](inprocess::Communicator& comm, std::vector<T>& out) {
    const auto r = static_cast<std::size_t>(comm.rank());
    out = poisoned<T>(total, c.seed + r);
    if (c.in_place) {  // own block already in place
      const std::size_t offset = std::accumulate(
          counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(r), std::size_t{0});
      std::copy(inputs[r].begin(), inputs[r].end(),
                out.begin() + static_cast<std::ptrdiff_t>(offset));
      all_gather_v(comm, std::span(out).subspan(offset, counts[r]), out, counts, c.algorithm);
    } else {
      all_gather_v(comm, inputs[r], out, counts, c.algorithm);
    }
  });
  check_gathered(inputs, outputs);
}

}  // namespace

TEST_CASE(
    "all_gather and all_gather_v: every algorithm x ranks 1..8 x small counts x type x form") {
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_small_cases(4, ag_algorithms, [&](const Case& c) {
      check_even<T>(c);
      check_v<T>(c);
    });
  });
}

TEST_CASE("all_gather and all_gather_v: large counts on a covering sample") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for (int form = 0; form < 5; ++form, ++k) {
      if (!keep_large(k)) continue;
      Case c = large_case(k, ag_algorithms, 4);
      c.count = large_count / static_cast<std::size_t>(c.ranks);
      if (form % 2)
        check_v<T>(c);
      else
        check_even<T>(c);
    }
  });
}

TEST_CASE("all_gather: bad arguments") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    std::vector<int> in(3), out(5);
    CHECK(error_kind([&] { all_gather(comm, in, out); }) == ErrorKind::invalid_argument);
    const std::vector<std::size_t> counts = {3, 3};
    std::vector<int> small(5);
    CHECK(error_kind([&] { all_gather_v(comm, in, small, counts); }) ==
          ErrorKind::invalid_argument);
    std::vector<int> wrong(2);
    CHECK(error_kind([&] { all_gather_v(comm, wrong, out, counts); }) ==
          ErrorKind::invalid_argument);
  });
}

TEST_CASE("all_gather_v, reduce_scatter_v, gather_v, scatter_v: counts whose sum wraps around") {
  // counts {2, 2, (size_t)-2} sum to 2 modulo 2^64 (issue 34): every rank refuses them, before
  // any segment is cut from them, with and without argument checking.
  for (const bool check : {false, true}) {
    CAPTURE(check);
    inprocess::launch(
        3,
        [&](inprocess::Communicator& comm) {
          const std::vector<std::size_t> counts = {2, 2, static_cast<std::size_t>(-2)};
          std::vector<double> in(2, 1.5), out(2);
          CHECK(error_kind([&] { all_gather_v(comm, in, out, counts); }) ==
                ErrorKind::invalid_argument);
          CHECK(error_kind([&] { reduce_scatter_v(comm, in, out, counts, sum{}); }) ==
                ErrorKind::invalid_argument);
          CHECK(error_kind([&] { gather_v(comm, in, out, counts, 0); }) ==
                ErrorKind::invalid_argument);
          CHECK(error_kind([&] { scatter_v(comm, in, out, counts, 0); }) ==
                ErrorKind::invalid_argument);
        },
        {.timeout = std::chrono::seconds(10), .check = check});
  }
}
