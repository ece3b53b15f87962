// all_reduce on in-process ranks, per algorithm, against a memcpy of the same bytes measured in
// the same run (the floor one rank's copy would need). Time is the slowest rank's (as
// nccl-tests reports), measured per iteration between two synchronisations, so rank start skew
// is excluded. Counters follow nccl-tests: algbw = bytes / time, busbw = algbw * 2(n-1)/n.
//
//   build/benchmarks/inprocess_all_reduce --benchmark_filter='/67108864/'

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "colt/colt.hpp"
#include "support/memcpy_floor.hpp"
#include "support/rank_driver.hpp"

namespace {

using Clock = std::chrono::steady_clock;

template <colt::Algorithm A>
void all_reduce_float_sum(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const int ranks = static_cast<int>(state.range(1));
  const std::size_t count = bytes / sizeof(float);
  std::vector<std::vector<float>> buffers(static_cast<std::size_t>(ranks));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-1, 1);
  for (auto& b : buffers) {
    b.resize(count);
    for (auto& x : b) x = value(rng);
  }
  colt::inprocess::launch(ranks, [&](colt::inprocess::Communicator& comm) {
    auto& data = buffers[static_cast<std::size_t>(comm.rank())];
    colt::all_reduce(comm, data, colt::sum{}, A);  // warm-up: workspace, page faults
    auto step = [&]() {
      colt::barrier(comm);
      const auto start = Clock::now();
      colt::all_reduce(comm, data, colt::sum{}, A);
      double seconds[] = {std::chrono::duration<double>(Clock::now() - start).count()};
      colt::all_reduce(comm, seconds, colt::max{});
      return seconds[0];
    };
    colt::bench::drive_ranks(state, comm, step, [&](double seconds) { state.SetIterationTime(seconds); });
  });
  const double n = ranks;
  const double algbw = static_cast<double>(bytes) * state.iterations();
  state.counters["algbw"] = benchmark::Counter(algbw, benchmark::Counter::kIsRate);
  state.counters["busbw"] = benchmark::Counter(algbw * 2 * (n - 1) / n, benchmark::Counter::kIsRate);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int ranks : {2, 4, 8})
    for (std::int64_t bytes = 8; bytes <= (std::int64_t{64} << 20); bytes *= 16) b->Args({bytes, ranks});
  b->Args({std::int64_t{64} << 20, 2});
}

}  // namespace

BENCHMARK(colt::bench::memcpy_floor)->Arg(std::int64_t{64} << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(all_reduce_float_sum<colt::Algorithm::ring>)->Apply(sizes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(all_reduce_float_sum<colt::Algorithm::tree>)->Apply(sizes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(all_reduce_float_sum<colt::Algorithm::direct>)->Apply(sizes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(all_reduce_float_sum<colt::Algorithm::automatic>)->Apply(sizes)->UseManualTime()->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
