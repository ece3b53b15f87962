#include <doctest/doctest.h>

#include <vector>

#include "colt/collectives/reduce.hpp"
#include "matrix.hpp"
#include "ranks.hpp"
#include "reference.hpp"
#include "errors.hpp"

using namespace colt;
using namespace colt::test;

namespace {

const std::vector<Algorithm> reduce_algorithms = algorithms_of(CollectiveKind::reduce);

template <class T, class Op>
void check_reduce_case(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name));
  auto inputs = random_inputs<T, Op>(c, [&](int) { return c.count; });
  const auto original = inputs;
  std::vector<std::vector<T>> poison(static_cast<std::size_t>(c.ranks));
  auto outputs = run_ranks<T>(c.ranks, [&](inprocess::Communicator& comm, std::vector<T>& out) {
    const auto r = static_cast<std::size_t>(comm.rank());
    if (c.in_place) {
      out = inputs[r];
      reduce(comm, out, c.root, Op{}, c.algorithm);
    } else {
      out = poison[r] = poisoned<T>(c.count, c.seed + r);
      reduce(comm, inputs[r], out, c.root, Op{}, c.algorithm);
    }
  });
  const Reference<T, Op> reference(inputs, 0, c.count);
  const std::string wrong = reference.check(outputs[static_cast<std::size_t>(c.root)]);
  CHECK_MESSAGE(wrong.empty(), wrong);
  for (int r = 0; r < c.ranks; ++r) {
    const auto i = static_cast<std::size_t>(r);
    CHECK(same_bits<T>(inputs[i], original[i]));
    if (r != c.root)  // other ranks' buffers are left alone
      CHECK_MESSAGE(same_bits<T>(outputs[i], c.in_place ? original[i] : poison[i]), "rank " << r);
  }
}

}  // namespace

TEST_CASE("reduce: every algorithm x ranks 1..8 x small counts x type x op x form x root") {
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_small_cases(6, reduce_algorithms, [&](const Case& c) { check_reduce_case<T, Op>(c); });
    });
  });
}

TEST_CASE("reduce: large counts on a covering sample") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      if (keep_large(k)) check_reduce_case<T, Op>(large_case(k, reduce_algorithms, 6));
      ++k;
    });
  });
}

TEST_CASE("reduce: bad arguments") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    std::vector<double> in(4), out(3);
    CHECK(error_kind([&] { reduce(comm, in, out, 2, sum{}); }) == ErrorKind::invalid_argument);
    if (comm.rank() == 0)
      CHECK(error_kind([&] { reduce(comm, in, out, 0, sum{}); }) == ErrorKind::invalid_argument);
  });
}
