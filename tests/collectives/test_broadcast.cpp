#include <doctest/doctest.h>

#include <vector>

#include "colt/collectives/broadcast.hpp"
#include "matrix.hpp"
#include "ranks.hpp"
#include "errors.hpp"

using namespace colt;
using namespace colt::test;

namespace {

const std::vector<Algorithm> bcast_algorithms = algorithms_of(CollectiveKind::broadcast);

template <class T>
void check_broadcast_case(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>)));
  auto inputs = random_inputs<T>(c, [&](int) { return c.count; });  // every rank's own data
  auto outputs = run_ranks<T>(c.ranks, [&](inprocess::Communicator& comm, std::vector<T>& out) {
    out = inputs[static_cast<std::size_t>(comm.rank())];
    broadcast(comm, out, c.root, c.algorithm);
  });
  for (std::size_t r = 0; r < outputs.size(); ++r)
    CHECK_MESSAGE(same_bits<T>(outputs[r], inputs[static_cast<std::size_t>(c.root)]), "rank " << r);
}

}  // namespace

TEST_CASE("broadcast: every algorithm x ranks 1..8 x small counts x type x root") {
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_small_cases(5, bcast_algorithms, [&](const Case& c) {
      if (!c.in_place) check_broadcast_case<T>(c);  // broadcast is in place only
    });
  });
}

TEST_CASE("broadcast: large counts on a covering sample") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for (int i = 0; i < 3; ++i, ++k)
      if (keep_large(k)) check_broadcast_case<T>(large_case(k, bcast_algorithms, 5));
  });
}

TEST_CASE("broadcast: root out of range is reported on the rank that passed it") {
  inprocess::launch(3, [&](inprocess::Communicator& comm) {
    std::vector<float> data(4);
    CHECK(error_kind([&] { broadcast(comm, data, 3); }) == ErrorKind::invalid_argument);
    CHECK(error_kind([&] { broadcast(comm, data, -1); }) == ErrorKind::invalid_argument);
  });
}
