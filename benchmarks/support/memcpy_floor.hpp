#pragma once
// The floor every benchmark quotes beside its own figures: one memcpy of the same bytes, measured
// in the same run (the machine's memory bandwidth changes from run to run; ratios do not).

#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

namespace colt::bench {

inline void memcpy_floor(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  std::vector<char> a(bytes, 1), b(bytes, 2);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes) * static_cast<double>(state.iterations()),
                                              benchmark::Counter::kIsRate);
}

}  // namespace colt::bench
