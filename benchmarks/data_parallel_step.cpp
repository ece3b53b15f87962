// One training step of the sample trainer's model (samples/02_data_parallel_trainer), data
// parallel on in-process ranks, three ways:
//   compute_only    forward + backward + Adam, no gradient averaging (the floor for a step);
//   after_backward  DataParallel, buckets averaged in synchronize() after backward;
//   overlapped      DataParallel, each bucket's all-reduce started (iall_reduce) as soon as
//                   backward has marked its tensors, while backward computes the rest.
// Time is the slowest rank's step (barrier before, so start skew is excluded). Counters, as shares
// of the step: `comm_share`, the time the last rank to finish backward spends in synchronize()
// (the communication left exposed: all of the averaging after backward, what overlap could not
// hide otherwise); `wait_share`, the same for the first rank (that plus waiting for the slower
// rank's backward).
//
// Args: ranks, hidden units (256: the sample's 23k-parameter default; 2048: 0.6M parameters,
// where communication matters), bucket cap in KiB.
//
//   build/benchmarks/data_parallel_step --benchmark_repetitions=5
//   --benchmark_report_aggregates_only

#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

#include "../samples/02_data_parallel_trainer/char_mlp.hpp"
#include "colt/colt.hpp"
#include "colt/adapters/data_parallel.hpp"
#include "support/rank_driver.hpp"

namespace {

using Clock = std::chrono::steady_clock;
enum class Mode { compute_only, after_backward, overlapped };

// Seconds of one step: the slowest rank's step; the time in synchronize() of the rank that
// arrived there last (it waits for communication only) and of the one that arrived first
// (communication plus waiting for the slower rank's backward).
struct Times {
  double step, comm, wait;
};

constexpr std::size_t global_batch = 256;

std::vector<char_mlp::Example> random_examples(std::size_t n, int context, std::uint64_t seed) {
  colt::partition::SplitMix64 rng(seed);
  std::vector<char_mlp::Example> out(n);
  for (auto& e : out) {
    for (int c = 0; c < context; ++c)
      e.context[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(rng.below(27));
    e.target = static_cast<std::uint8_t>(rng.below(27));
  }
  return out;
}

template <Mode M>
void train_step(benchmark::State& state) {
  const int ranks = static_cast<int>(state.range(0));
  const char_mlp::Shape shape{4, 16, static_cast<int>(state.range(1))};
  const auto cap = static_cast<std::size_t>(state.range(2)) << 10;
  double step_seconds = 0, comm_seconds = 0, wait_seconds = 0;
  std::size_t parameters = 0;
  colt::inprocess::launch(ranks, [&](colt::inprocess::Communicator& comm) {
    char_mlp::Model model(shape, 1);
    samples::Adam adam(char_mlp::tensors_of(model));
    const auto share = colt::partition::range(global_batch, comm.size(), comm.rank());
    const auto batch =
        random_examples(share.size(), shape.context, 100 + static_cast<std::uint64_t>(comm.rank()));
    colt::DataParallelOptions options;
    options.bucket_cap_bytes = cap;
    options.overlap = M == Mode::overlapped;
    colt::DataParallel<colt::inprocess::Transport> dp(comm, options);
    for (std::size_t t = 0; t < char_mlp::Model::tensor_count; ++t)
      dp.add(model.param(t), model.grad(t));
    parameters = model.parameter_count();

    auto step = [&] {
      colt::barrier(comm);
      const auto start = Clock::now();
      Clock::time_point backward_done;
      if constexpr (M == Mode::overlapped) {
        model.forward_backward(batch, [&](std::size_t t) { dp.mark_ready(t); });
        backward_done = Clock::now();
        dp.synchronize();
      } else {
        model.forward_backward(batch, [](std::size_t) {});
        backward_done = Clock::now();
        if constexpr (M == Mode::after_backward) dp.average_gradients();
      }
      const auto synced = Clock::now();
      adam.step(1e-3);
      const double sync = std::chrono::duration<double>(synced - backward_done).count();
      double seconds[] = {std::chrono::duration<double>(Clock::now() - start).count(), sync, -sync};
      colt::all_reduce(comm, std::span<double>(seconds), colt::max{});
      return Times{seconds[0], -seconds[2], seconds[1]};
    };
    step();  // warm-up: buckets planned, pages touched
    colt::bench::drive_ranks(state, comm, step, [&](Times t) {
      state.SetIterationTime(t.step);
      step_seconds += t.step;
      comm_seconds += t.comm;
      wait_seconds += t.wait;
    });
  });
  state.counters["comm_share"] = step_seconds > 0 ? comm_seconds / step_seconds : 0.0;
  state.counters["wait_share"] = step_seconds > 0 ? wait_seconds / step_seconds : 0.0;
  state.counters["params"] = static_cast<double>(parameters);
  state.counters["samples/s"] = benchmark::Counter(
      static_cast<double>(global_batch) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int ranks : {1, 2})
    for (int hidden : {256, 2048}) b->Args({ranks, hidden, 256});
}

}  // namespace

BENCHMARK(train_step<Mode::compute_only>)
    ->Apply(shapes)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(train_step<Mode::after_backward>)
    ->Apply(shapes)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(train_step<Mode::overlapped>)
    ->Apply(shapes)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
