#pragma once
// The memory-bandwidth floor, measured in the same binary as the collectives it bounds: STREAM's
// copy (a = b) and add (a = b + c) kernels on one thread per core, arrays far larger than the
// caches, best of several runs (as STREAM reports). Bytes count reads and writes: copy moves 2
// bytes per byte copied, add 3.

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

namespace colt::bench {

struct MemoryBandwidth {
  double copy = 0;  // bytes read + written per second
  double add = 0;
  int threads = 0;
};

inline MemoryBandwidth measure_memory_bandwidth(int threads = 0,
                                                std::size_t bytes_per_array = std::size_t{64} << 20,
                                                int runs = 5) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::size_t n = bytes_per_array / sizeof(double);
  MemoryBandwidth result{0, 0, threads};
  std::vector<double> copy_seconds(static_cast<std::size_t>(runs)),
      add_seconds(static_cast<std::size_t>(runs));
  std::barrier sync(threads);
  using Clock = std::chrono::steady_clock;
  auto worker = [&](int id) {
    // Each thread first-touches its own arrays, so pages sit near the core that uses them.
    std::vector<double> a(n, 1.0), b(n, 2.0), c(n, 3.0);
    for (int run = 0; run < runs; ++run) {
      sync.arrive_and_wait();
      auto start = Clock::now();
      std::copy(b.begin(), b.end(), a.begin());
      sync.arrive_and_wait();
      if (id == 0)
        copy_seconds[static_cast<std::size_t>(run)] =
            std::chrono::duration<double>(Clock::now() - start).count();
      sync.arrive_and_wait();
      start = Clock::now();
      for (std::size_t i = 0; i < n; ++i) a[i] = b[i] + c[i];
      sync.arrive_and_wait();
      if (id == 0)
        add_seconds[static_cast<std::size_t>(run)] =
            std::chrono::duration<double>(Clock::now() - start).count();
    }
    volatile double keep = a[n / 2];
    (void)keep;
  };
  std::vector<std::jthread> pool;
  for (int id = 1; id < threads; ++id) pool.emplace_back(worker, id);
  worker(0);
  pool.clear();
  // The first run pays for page faults; STREAM reports the best of the rest.
  const double best_copy = *std::min_element(copy_seconds.begin() + (runs > 1), copy_seconds.end());
  const double best_add = *std::min_element(add_seconds.begin() + (runs > 1), add_seconds.end());
  const double total = static_cast<double>(n * sizeof(double)) * threads;
  result.copy = 2 * total / best_copy;
  result.add = 3 * total / best_add;
  return result;
}

}  // namespace colt::bench
