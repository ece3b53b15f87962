// Soak on 4 in-process ranks: 10,000 random collectives (twice: a first pass, then the same
// shapes with new data), every result checked; after the first pass no call allocates. Run
// under AddressSanitizer in CI, LeakSanitizer checks that nothing leaks.
#include <doctest/doctest.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "colt/colt.hpp"
#include "matrix.hpp"
#include "soak.hpp"

using namespace colt;

TEST_CASE(
    "soak: 10,000 random collectives on 4 in-process ranks, checked, allocation-free in steady "
    "state") {
  const long calls = test::reduced_scale() ? 2500 : 10000;
  std::vector<test::SoakStats> stats(4);
  inprocess::launch(4, [&](inprocess::Communicator& comm) {
    stats[static_cast<std::size_t>(comm.rank())] = test::run_soak(comm, calls, test::base_seed());
  });
  for (int r = 0; r < 4; ++r) {
    const auto& s = stats[static_cast<std::size_t>(r)];
    CAPTURE(r);
    CAPTURE(s.first_wrong);
    MESSAGE("rank ", r, ": ", s.calls, " calls, ", s.wrong, " wrong, ", s.first_pass_allocations,
            " allocations in the first pass, ", s.steady_allocations, " after it");
    CHECK(s.calls == 2 * calls);
    CHECK(s.wrong == 0);
    CHECK(s.steady_allocations == 0);
  }
}
