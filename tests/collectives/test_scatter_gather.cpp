#include <doctest/doctest.h>

#include <numeric>
#include <vector>

#include "colt/collectives/gather.hpp"
#include "colt/collectives/scatter.hpp"
#include "matrix.hpp"
#include "ranks.hpp"
#include "errors.hpp"

using namespace colt;
using namespace colt::test;

namespace {

const std::vector<Algorithm> direct_only = {algo::direct, algo::automatic};

// scatter (even, or v with random counts): rank r receives block r of the root's buffer.
template <class T>
void check_scatter(const Case& c, bool v) {
  INFO(describe(c, name_of(data_type_of<T>)) << std::string(v ? " (v)" : ""));
  const auto counts = block_counts(c, v);
  const auto offsets = offsets_of(counts);
  auto source = random_inputs<T>(c, [&](int) { return offsets.back(); });
  auto outputs = run_ranks<T>(c.ranks, [&](inprocess::Communicator& comm, std::vector<T>& out) {
    const auto r = static_cast<std::size_t>(comm.rank());
    out = poisoned<T>(counts[r], c.seed + r);
    const bool root = comm.rank() == c.root;
    std::vector<T> none;
    const std::vector<T>& in = root ? source[r] : none;  // only the root's input is read
    if (root && c.in_place && !v) {  // the root's own block may be the output itself
      std::vector<T> all = source[r];
      std::span<T> own = std::span(all).subspan(offsets[r], counts[r]);
      scatter(comm, all, own, c.root, c.algorithm);
      out.assign(own.begin(), own.end());
    } else if (v) {
      scatter_v(comm, in, out, counts, c.root, c.algorithm);
    } else {
      scatter(comm, in, out, c.root, c.algorithm);
    }
  });
  const auto& root_data = source[static_cast<std::size_t>(c.root)];
  for (std::size_t r = 0; r < outputs.size(); ++r)
    CHECK_MESSAGE(same_bits<T>(outputs[r], std::span(root_data).subspan(offsets[r], counts[r])),
                  "rank " << r);
}

// gather (even, or v): the root ends with every rank's block in rank order.
template <class T>
void check_gather(const Case& c, bool v) {
  INFO(describe(c, name_of(data_type_of<T>)) << std::string(v ? " (v)" : ""));
  const auto counts = block_counts(c, v);
  const auto offsets = offsets_of(counts);
  auto inputs = random_inputs<T>(c, [&](int r) { return counts[static_cast<std::size_t>(r)]; });
  auto outputs = run_ranks<T>(c.ranks, [&](inprocess::Communicator& comm, std::vector<T>& out) {
    const auto r = static_cast<std::size_t>(comm.rank());
    const bool root = comm.rank() == c.root;
    out = poisoned<T>(root ? offsets.back() : 0, c.seed + r);
    if (root && c.in_place) {  // the root's block already sits in the output
      std::copy(inputs[r].begin(), inputs[r].end(),
                out.begin() + static_cast<std::ptrdiff_t>(offsets[r]));
      std::span<T> own = std::span(out).subspan(offsets[r], counts[r]);
      if (v)
        gather_v(comm, own, out, counts, c.root, c.algorithm);
      else
        gather(comm, own, out, c.root, c.algorithm);
    } else if (v) {
      gather_v(comm, inputs[r], out, counts, c.root, c.algorithm);
    } else {
      gather(comm, inputs[r], out, c.root, c.algorithm);
    }
  });
  std::vector<T> expected;
  for (const auto& in : inputs) expected.insert(expected.end(), in.begin(), in.end());
  CHECK(same_bits<T>(outputs[static_cast<std::size_t>(c.root)], expected));
}

}  // namespace

TEST_CASE("scatter, scatter_v, gather, gather_v: ranks 1..8 x small counts x type x root x form") {
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_small_cases(7, direct_only, [&](const Case& c) {
      for (bool v : {false, true}) {
        check_scatter<T>(c, v);
        check_gather<T>(c, v);
      }
    });
  });
}

TEST_CASE("scatter and gather: large counts on a covering sample") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for (int form = 0; form < 4; ++form, ++k) {
      if (!keep_large(k)) continue;
      Case c = large_case(k, direct_only, 7);
      c.count = large_count / static_cast<std::size_t>(c.ranks);
      if (form < 2)
        check_scatter<T>(c, form == 1);
      else
        check_gather<T>(c, form == 3);
    }
  });
}

TEST_CASE("scatter and gather: bad arguments") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    std::vector<int> in(5), out(2);
    if (comm.rank() == 0) {
      CHECK(error_kind([&] { scatter(comm, in, out, 0); }) == ErrorKind::invalid_argument);
      CHECK(error_kind([&] { gather(comm, out, in, 0); }) == ErrorKind::invalid_argument);
      const std::vector<std::size_t> counts = {3, 3};
      CHECK(error_kind([&] { gather_v(comm, std::vector<int>(3), in, counts, 0); }) ==
            ErrorKind::invalid_argument);
    }
    CHECK(error_kind([&] { scatter(comm, in, out, 7); }) == ErrorKind::invalid_argument);
    CHECK(error_kind([&] { gather(comm, in, out, 0, algo::ring); }) == ErrorKind::invalid_argument);
  });
}

TEST_CASE("gather_v: the root's receive buffer too small for the counts fails on every rank") {
  CHECK(error_kind([&] {
          inprocess::launch(3, [&](inprocess::Communicator& comm) {
            const std::vector<std::size_t> counts = {2, 2, 2};
            std::vector<float> in(2, 1.0f), out(comm.rank() == 1 ? 5 : 6);
            gather_v(comm, in, out, counts, 1);
          });
        }) == ErrorKind::invalid_argument);
}
