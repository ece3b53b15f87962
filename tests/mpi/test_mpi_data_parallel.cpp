// DataParallel over MPI: the same properties as in-process (tests/support/data_parallel_cases.hpp),
// and the sample trainer on N MPI ranks against one rank training the whole batch (run in each
// process on a one-rank in-process communicator).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "data_parallel_cases.hpp"
#include "sharded_cases.hpp"
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

// ShardedDataParallel over MPI processes: the properties of the in-process tests
// (tests/support/sharded_cases.hpp) on the world, and a checkpoint written by every process
// read back by each process alone.
namespace {

void check_problems(const std::string& problems, const std::string& label) {
  CHECK_MESSAGE(
      all_ranks(problems.empty()),
      label << ": " << (problems.empty() ? std::string("another rank failed") : problems));
}

}  // namespace

TEST_CASE("mpi ShardedDataParallel: averaged step and 50 training steps against DataParallel") {
  auto ordered = world().dup();
  ordered.set_ordered(true);
  for (int stage = 1; stage <= 3; ++stage) {
    const std::string label = "stage " + std::to_string(stage);
    for (int variant = 0; variant < 3; ++variant) {
      sharded::AverageCase c;
      c.options.stage = stage;
      c.options.bucket_cap_bytes = variant == 0 ? 4096 : 64;
      c.options.weighted = c.unequal_weights = variant >= 1;
      c.unused = variant == 2;
      c.accumulate = variant == 2;
      check_problems(sharded::average_step(ordered, c, 0.0),
                     label + " averaged step, variant " + std::to_string(variant));
    }
    check_problems(sharded::against_plain(ordered, stage, 0.0), label + ", ordered: bitwise");
    check_problems(sharded::against_plain(world(), stage, 1e-4), label);
  }
}

TEST_CASE("mpi ShardedDataParallel: shards saved by every process load onto one process") {
  const std::string prefix = shared_temporary_directory() + "/shards";
  for (int stage = 1; stage <= 3; ++stage) {
    const ModelState saved = sharded::train_and_save(world(), stage, prefix);
    std::vector<float> expected_flat = saved.parameters;
    // Rank 0 holds the state; every process loads the files alone and compares with it.
    std::int64_t n = static_cast<std::int64_t>(expected_flat.size());
    broadcast(world(), std::span<std::int64_t>(&n, 1), 0);
    ModelState expected = saved;
    expected.parameters.resize(static_cast<std::size_t>(n));
    expected.optimizer_state.resize(2 * static_cast<std::size_t>(n));
    expected.state_per_parameter = 2;
    broadcast(world(), std::span<float>(expected.parameters), 0);
    broadcast(world(), std::span<float>(expected.optimizer_state), 0);
    auto alone = world().split(world().rank(), 0);
    check_problems(sharded::load_and_compare(alone, stage, prefix, world().size(), expected),
                   "stage " + std::to_string(stage) + ": load onto one process");
    barrier(world());
    if (world().rank() == 0)
      for (int r = 0; r < world().size(); ++r)
        std::filesystem::remove(shard_file_name(prefix, r, world().size()));
  }
}
