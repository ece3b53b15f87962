// Overlap of a started all_reduce with work that leaves the core idle (issue goal: total at most
// 1.15 x max(T, all_reduce time)). 2 in-process ranks; each "computes" by sleeping T, about one
// all_reduce's time, as a GPU kernel or I/O would. Three rows, medians over batches, one run:
//   all_reduce       the blocking call alone (what T is set to)
//   blocking + T     all_reduce, then sleep T: the sum of the two
//   started + T      iall_reduce, sleep T, wait: ideally max(T, all_reduce)
// The blocking all_reduce at 8 B, 512 KiB and 256 MiB is in collectives_inprocess.
//
//   overlap [--bytes=N] [--batches=N] [--smoke]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "colt/colt.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Times {
  double alone, blocking, started;
};

// Times on rank 0; both ranks run the same sequence.
Times measure(std::size_t bytes, int batches, bool check) {
  Times result{};
  colt::inprocess::launch(2, [&](colt::inprocess::Communicator& comm) {
    std::vector<float> data(bytes / sizeof(float), 1.0f);
    auto timed = [&](auto&& body) {
      std::vector<double> seconds;
      for (int b = 0; b < batches; ++b) {
        colt::barrier(comm);
        const auto start = clock_type::now();
        body();
        double s = std::chrono::duration<double>(clock_type::now() - start).count();
        std::vector<double> slowest = {s};
        colt::all_reduce(comm, slowest, colt::max{});
        seconds.push_back(slowest[0]);
      }
      return median(seconds);
    };
    const double alone = timed([&] { colt::all_reduce(comm, data, colt::sum{}); });
    const auto compute = std::chrono::duration<double>(alone);
    const double blocking = timed([&] {
      colt::all_reduce(comm, data, colt::sum{});
      std::this_thread::sleep_for(compute);
    });
    const double started = timed([&] {
      colt::Request r = colt::iall_reduce(comm, data, colt::sum{});
      std::this_thread::sleep_for(compute);
      r.wait();
    });
    if (check) {  // the values stay powers of two, so every sum is exact
      std::vector<float> one = {1.0f};
      colt::all_reduce(comm, one, colt::sum{});
      if (one[0] != 2.0f) throw std::runtime_error("wrong all_reduce result");
    }
    if (comm.rank() == 0) result = {alone, blocking, started};
  });
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t bytes = 8u << 20;
  int batches = 21;
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with("--bytes=")) {
      bytes = std::strtoull(argv[i] + 8, nullptr, 10);
    } else if (a.starts_with("--batches=")) {
      batches = std::atoi(argv[i] + 10);
    } else if (a == "--smoke") {
      smoke = true;
    } else {
      std::printf("usage: overlap [--bytes=N (8 MiB)] [--batches=N (21)] [--smoke]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (smoke) bytes = 1 << 16, batches = 3;
  const Times t = measure(bytes, batches, smoke);
  const double ideal = t.alone;  // max(T, all_reduce time), T being the all_reduce time
  std::printf("# 2 in-process ranks, %zu bytes, median of %d batches; T = all_reduce time\n", bytes,
              batches);
  std::printf("%-16s %12s %14s\n", "row", "time(us)", "/ max(T, AR)");
  std::printf("%-16s %12.1f %14.2f\n", "all_reduce", t.alone * 1e6, t.alone / ideal);
  std::printf("%-16s %12.1f %14.2f\n", "blocking + T", t.blocking * 1e6, t.blocking / ideal);
  std::printf("%-16s %12.1f %14.2f\n", "started + T", t.started * 1e6, t.started / ideal);
  return 0;
}
