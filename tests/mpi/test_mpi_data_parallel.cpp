// DataParallel over MPI: the same properties as in-process (tests/support/data_parallel_cases.hpp),
// and the sample trainer on N MPI ranks against one rank training the whole batch (run in each
// process on a one-rank in-process communicator).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "data_parallel_cases.hpp"
#include "mpi_world.hpp"

using namespace colt;
using namespace colt::test;

namespace {

void check_outcome(const dp::Outcome& out, const std::string& label) {
  CHECK_MESSAGE(
      all_ranks(out.error.empty()),
      label << ": " << (out.error.empty() ? std::string("another rank failed") : out.error));
  CHECK_MESSAGE(identical_on_all_ranks(std::span<const std::byte>(out.result)),
                label << ": ranks disagree");
}

}  // namespace

TEST_CASE("mpi DataParallel: the helper thread is used (MPI_THREAD_MULTIPLE)") {
  DataParallel<mpi::Transport> dp(world());
  CHECK(dp.overlapping());
}

TEST_CASE("mpi DataParallel: mixed buckets, weights and unused tensors, both aggregations") {
  for (Aggregation aggregation : {Aggregation::all_reduce, Aggregation::parameter_server})
    for (int variant = 0; variant < 3; ++variant) {
      dp::MixedCase c;
      c.options.aggregation = aggregation;
      c.options.server = aggregation == Aggregation::parameter_server && variant == 1 ? -1 : 0;
      c.options.bucket_cap_bytes = 2048;
      c.options.overlap = variant != 2;
      c.options.low_precision =
          variant == 1 ? LowPrecision::prescale : LowPrecision::accumulate_in_float;
      c.options.weighted = variant >= 1;
      c.unequal_weights = variant >= 1;
      c.unused = variant == 2;
      c.seed = static_cast<std::uint64_t>(variant + 10);
      check_outcome(
          dp::mixed_buckets(world(), c),
          std::string(aggregation == Aggregation::all_reduce ? "all-reduce" : "parameter server") +
              " variant " + std::to_string(variant));
    }
}

TEST_CASE("mpi DataParallel: half without overflow, no_sync accumulation") {
  for (LowPrecision low : {LowPrecision::accumulate_in_float, LowPrecision::prescale})
    check_outcome(dp::half_without_overflow(world(), low), "half");
  check_outcome(dp::no_sync_accumulation(world(), 3), "no_sync");
}

TEST_CASE("mpi data-parallel training equals one rank training on the whole batch") {
  using char_mlp::Optimizer;
  for (Optimizer optimizer : {Optimizer::sgd, Optimizer::adam})
    for (Aggregation aggregation : {Aggregation::all_reduce, Aggregation::parameter_server}) {
      const auto config = dp::small_training(optimizer, aggregation, /*overlap=*/true);
      char_mlp::TrainResult single;
      inprocess::launch(
          1, [&](inprocess::Communicator& comm) { single = dp::train_small(comm, config); });
      const char_mlp::TrainResult mine = dp::train_small(world(), config);
      const double difference = dp::parameter_difference(mine.parameters, single.parameters);
      const std::string label =
          std::string(optimizer == Optimizer::sgd ? "sgd" : "adam") + ", " +
          (aggregation == Aggregation::all_reduce ? "all-reduce" : "parameter server");
      CHECK_MESSAGE(all_ranks(difference < 2e-5),
                    label << ": parameters differ from one rank's by " << difference);
      CHECK_MESSAGE(identical_on_all_ranks(std::span<const float>(mine.parameters)),
                    label << ": replicas differ");
    }
}
