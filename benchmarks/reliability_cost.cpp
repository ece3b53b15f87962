// What the reliability options cost: all_reduce of float on 2 in-process ranks at 8 B and
// 64 MiB, by default and with argument checking (COLT_CHECK), message checksums
// (COLT_CHECKSUM) and rank-ordered reduction (COLT_ORDERED), side by side in one run.
//
//   build/benchmarks/reliability_cost [--benchmark_repetitions=N]
//
// Rank 0 runs Google Benchmark; rank 1 replays the same calls (every row has a fixed iteration
// count, so it knows how many). --benchmark_filter is refused: rank 1 could not follow it.
// Time is the median over repetitions; algbw = bytes / time, busbw = algbw x 2(p-1)/p as
// nccl-tests defines them for all_reduce.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "colt/colt.hpp"

namespace {

struct Mode {
  const char* name;
  colt::CommunicatorOptions options;
};

const Mode modes[] = {
    {"default", {.check = false, .checksum = false, .ordered = false}},
    {"check", {.check = true, .checksum = false, .ordered = false}},
    {"checksum", {.check = false, .checksum = true, .ordered = false}},
    {"ordered", {.check = false, .checksum = false, .ordered = true}},
};

struct Size {
  std::size_t bytes;
  int iterations;
};
const Size sizes[] = {{8, 20000}, {std::size_t{64} << 20, 8}};
constexpr int ranks = 2;

int repetitions_from(int argc, char** argv) {
  int n = 5;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--benchmark_repetitions=", 24) == 0) n = std::atoi(argv[i] + 24);
  return n > 0 ? n : 1;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--benchmark_filter", 18) == 0) {
      std::fprintf(stderr, "--benchmark_filter is not supported: rank 1 replays every row\n");
      return 2;
    }
  const int repetitions = repetitions_from(argc, argv);
  benchmark::Initialize(&argc, argv);
  colt::inprocess::launch(ranks, [&](colt::inprocess::Communicator& world) {
    std::vector<colt::inprocess::Communicator> comms;
    for (const Mode& m : modes) comms.emplace_back(world.transport(), m.options);
    std::vector<float> data((sizes[1].bytes) / sizeof(float), 1.0f / 1024);
    auto call = [&](colt::inprocess::Communicator& comm, std::size_t bytes) {
      std::span<float> d(data.data(), bytes / sizeof(float));
      colt::all_reduce(comm, d, colt::sum{});
    };
    if (world.rank() != 0) {  // the follower: the same rows, in the same order
      for (const Size& s : sizes)
        for (std::size_t m = 0; m < std::size(modes); ++m)
          for (int rep = 0; rep < repetitions; ++rep)
            for (int it = 0; it < s.iterations; ++it) call(comms[m], s.bytes);
      return;
    }
    for (const Size& s : sizes)
      for (std::size_t m = 0; m < std::size(modes); ++m) {
        const std::string name =
            std::string("all_reduce/float/") + std::to_string(s.bytes) + "B/" + modes[m].name;
        benchmark::RegisterBenchmark(
            name.c_str(),
            [&, m, s](benchmark::State& state) {
              for (auto _ : state) call(comms[m], s.bytes);
              const double bytes =
                  static_cast<double>(s.bytes) * static_cast<double>(state.iterations());
              state.counters["algbw_GBps"] =
                  benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
              state.counters["busbw_GBps"] = benchmark::Counter(
                  bytes / 1e9 * 2.0 * (ranks - 1) / ranks, benchmark::Counter::kIsRate);
            })
            ->Iterations(s.iterations)
            ->Repetitions(repetitions)
            ->ReportAggregatesOnly(true)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    benchmark::RunSpecifiedBenchmarks();
  });
  benchmark::Shutdown();
  return 0;
}
