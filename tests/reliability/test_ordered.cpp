// Reproducible sums: under colt::ordered (per call) or the communicator's ordered option, a
// reduction equals, bit for bit, the left fold in rank order x0 op x1 op ... op x(p-1) (in the
// op's compute type, rounded once), whatever the size, the algorithm named, or the transport
// (zero-copy in-process, or the copying path MPI and UCX take).
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "colt/colt.hpp"
#include "copy_transport.hpp"
#include "matrix.hpp"
#include "random.hpp"
#include "ranks.hpp"
#include "errors.hpp"

using namespace colt;
using colt::test::error_from;
using colt::test::error_kind;

namespace {

// The sequential fold every ordered reduction must reproduce.
template <class T, class Op>
std::vector<T> left_fold(const std::vector<std::vector<T>>& inputs, Op op) {
  using C = compute_type_t<T>;
  const int p = static_cast<int>(inputs.size());
  std::vector<T> out(inputs[0].size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    C acc = static_cast<C>(inputs[0][i]);
    for (int r = 1; r < p; ++r)
      acc = op(acc, static_cast<C>(inputs[static_cast<std::size_t>(r)][i]));
    out[i] = static_cast<T>(finish(op, acc, p));
  }
  return out;
}

template <class T, class Op>
std::vector<std::vector<T>> inputs_for(int p, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<T>> in(static_cast<std::size_t>(p));
  for (auto& v : in) v = test::random_buffer<T, Op>(rng, n);
  return in;
}

enum class Way {
  per_call,
  communicator_ring,
  communicator_tree,
  communicator_direct,
  communicator_automatic
};

// Runs all_reduce, reduce_scatter and reduce the given way on comm; returns each result.
template <class Comm, class T, class Op>
void check_rank(Comm& comm, Way way, const std::vector<std::vector<T>>& inputs,
                const std::vector<T>& fold, Op op) {
  const int p = comm.size(), r = comm.rank();
  const std::size_t n = fold.size();
  Algorithm a = Algorithm::ordered;
  if (way != Way::per_call) {
    comm.set_ordered(true);
    a = way == Way::communicator_ring     ? algo::ring
        : way == Way::communicator_tree   ? algo::tree
        : way == Way::communicator_direct ? algo::direct
                                          : algo::automatic;
  }
  const auto& mine = inputs[static_cast<std::size_t>(r)];
  std::vector<T> out = test::poisoned<T>(n, 5);
  all_reduce(comm, mine, out, op, a);
  CHECK(test::same_bits<T>(out, fold));
  std::vector<T> in_place = mine;
  all_reduce(comm, in_place, op, a);
  CHECK(test::same_bits<T>(in_place, fold));

  if (a != algo::tree) {  // reduce_scatter has no tree
    const std::size_t block = n / static_cast<std::size_t>(p);
    std::vector<T> part = test::poisoned<T>(block, 6);
    std::span<const T> all(mine.data(), block * static_cast<std::size_t>(p));
    reduce_scatter(comm, all, part, op, a);
    CHECK(test::same_bits<T>(
        part, std::span<const T>(fold).subspan(block * static_cast<std::size_t>(r), block)));
  }
  if (a != algo::ring) {  // reduce has no ring
    const int root = p - 1;
    std::vector<T> rooted = test::poisoned<T>(n, 7);
    reduce(comm, mine, rooted, root, op, a);
    if (r == root) CHECK(test::same_bits<T>(rooted, fold));
  }
}

template <class T, class Op>
void check_all(Op op) {
  // Reduced scale (the sanitizer builds): one way per rank count and size, the next one at the
  // next cell, so that every way still runs at small and large sizes.
  const bool reduced = test::reduced_scale();
  int cell = 0;
  for (int p : {1, 2, 3, 4, 8}) {
    for (std::size_t n :
         {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{65537},
          reduced ? std::size_t{100003} : std::size_t{300007}}) {
      if (n > 100000 && p != 4) continue;
      const auto inputs =
          inputs_for<T, Op>(p, n, test::base_seed() + n * 31 + static_cast<std::uint64_t>(p));
      const auto fold = left_fold(inputs, op);
      const int kept = cell++ % 5;
      int w = 0;
      for (Way way : {Way::per_call, Way::communicator_ring, Way::communicator_tree,
                      Way::communicator_direct, Way::communicator_automatic}) {
        if (reduced && w++ != kept) continue;
        if (n > 1000 && way == Way::communicator_automatic) continue;  // one of the others
        CAPTURE(p);
        CAPTURE(n);
        CAPTURE(static_cast<int>(way));
        inprocess::launch(
            p, [&](inprocess::Communicator& comm) { check_rank(comm, way, inputs, fold, op); });
        inprocess::launch(p, [&](inprocess::Communicator& comm) {
          test::CopyCommunicator copying(test::CopyTransport(comm.transport()),
                                         {.timeout = comm.timeout()});
          check_rank(copying, way, inputs, fold, op);
        });
      }
    }
  }
}

}  // namespace

// The sanitizer builds (-Dtest_types) keep one floating type per size: the order of the fold,
// which this checks, is the same code for every type.
#if COLT_TEST_TYPES == 1
#define COLT_ORDERED_FLOATS float
#elif COLT_TEST_TYPES == 3
#define COLT_ORDERED_FLOATS float, double, bfloat16
#else
#define COLT_ORDERED_FLOATS float, double, half, bfloat16
#endif
TEST_CASE_TEMPLATE("ordered: bitwise the left fold in rank order, float types", T,
                   COLT_ORDERED_FLOATS) {
  check_all<T>(sum{});
  check_all<T>(avg{});
  if constexpr (!NarrowFloat<T>) check_all<T>(prod{});
}

TEST_CASE("ordered: integer and min/max reductions too") {
  check_all<std::int32_t>(sum{});
  check_all<std::int64_t>(prod{});
  check_all<float>(min{});
  check_all<double>(max{});
}

TEST_CASE("ordered: splitting a buffer into buckets does not change a bit") {
  const int p = 4;
  const std::size_t n = 50021;
  const auto inputs = inputs_for<float, sum>(p, n, test::base_seed());
  const auto fold = left_fold(inputs, sum{});
  inprocess::launch(p, [&](inprocess::Communicator& comm) {
    comm.set_ordered(true);
    std::vector<float> data = inputs[static_cast<std::size_t>(comm.rank())];
    std::span<float> all(data);
    // Uneven buckets, each reduced by a different algorithm request.
    all_reduce(comm, all.first(17), sum{}, algo::tree);
    all_reduce(comm, all.subspan(17, 30000), sum{}, algo::ring);
    all_reduce(comm, all.subspan(30017), sum{}, algo::direct);
    CHECK(test::same_bits<float>(data, fold));
  });
}

TEST_CASE("ordered: not offered for collectives that do not reduce") {
  inprocess::launch(2, [](inprocess::Communicator& comm) {
    std::vector<float> data(4, 1.0f);
    CHECK(error_kind([&] { broadcast(comm, data, 0, colt::ordered); }) ==
          ErrorKind::invalid_argument);
  });
}
