// Time from a rank's death to its survivors computing again (docs/fault-tolerance.md). Every rank
// all-reduces 4 KiB in a loop; one rank dies at a set iteration; each survivor catches the error
// (peer_failed, naming the dead rank), shrinks, and completes one all_reduce on the survivors.
// The time is from the death to the last survivor's first successful call, median over trials.
// Rows:
//   in-process, thread ends    the dying thread throws (what inprocess::launch_surviving sees)
//   in-process, rank hangs     the rank stops answering; only the timeout reveals it
//   UCX, worker vanishes       the dying thread ends and its UCP worker with it, without a word
//                              (peer error handling on: as a killed process, seen by the closed
//                              connection); only when built with UCX
// Whole processes killed by SIGKILL: the sample trainer (tests/ucx/kill_a_process.sh).
//
//   recovery [--ranks=4] [--trials=5] [--timeout-ms=2000] [--smoke] [--help]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "colt/collectives/all_reduce.hpp"
#include "colt/transport/inprocess.hpp"
#include "support/number_flag.hpp"
#ifdef COLT_BENCH_WITH_UCX
#include "colt/transport/ucx.hpp"
#endif

namespace {

using clock_type = std::chrono::steady_clock;

struct Config {
  int ranks = 4;
  int trials = 5;
  int timeout_ms = 2000;
};

enum class Death { thread_ends, hangs };

struct Lost : std::runtime_error {
  Lost() : std::runtime_error("this rank dies (recovery benchmark)") {}
};

// One trial: seconds from the death to the last survivor's first call after shrinking, or a
// negative value when the survivors did not recover as they should.
template <class Launch>
double trial(const Config& c, Death death, Launch&& launch) {
  const int victim = c.ranks - 1;
  std::atomic<std::int64_t> died_at{0}, last_resumed{0};
  std::atomic<int> recovered{0};
  const auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               clock_type::now().time_since_epoch())
        .count();
  };
  launch(c.ranks, [&](auto& comm) {
    comm.identify_failures();
    std::vector<float> data(1024, 1.0f);
    try {
      for (int i = 0;; ++i) {
        if (comm.rank() == victim && i == 20) {
          died_at.store(now_ns());
          if (death == Death::thread_ends) throw Lost();
          // Silent past everyone's timeout and their agreement; then it learns it was dropped.
          std::this_thread::sleep_for(std::chrono::milliseconds(2 * c.timeout_ms + 1500));
          try {
            (void)comm.shrink();
          } catch (const colt::Error&) {
          }
          return;
        }
        colt::all_reduce(comm, std::span(data), colt::sum{});
      }
    } catch (const colt::Error& e) {
      if (e.kind() != colt::ErrorKind::peer_failed || e.peer() != victim) return;
    }
    auto survivors = comm.shrink();
    colt::all_reduce(survivors, std::span(data), colt::sum{});
    std::int64_t t = now_ns(), seen = last_resumed.load();
    while (t > seen && !last_resumed.compare_exchange_weak(seen, t)) {
    }
    if (survivors.size() == c.ranks - 1) ++recovered;
  });
  if (recovered.load() != c.ranks - 1) return -1;
  return static_cast<double>(last_resumed.load() - died_at.load()) * 1e-9;
}

template <class Launch>
void row(const Config& c, const char* name, Death death, Launch&& launch, bool& ok) {
  std::vector<double> ms;
  for (int t = 0; t < c.trials; ++t) {
    const double s = trial(c, death, launch);
    if (s < 0) {
      std::fprintf(stderr, "%s: the survivors did not recover\n", name);
      ok = false;
      return;
    }
    ms.push_back(s * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-28s %10.1f %10.1f %10.1f\n", name, ms.front(), ms[ms.size() / 2], ms.back());
}

[[noreturn]] void usage(const char* problem) {
  std::fprintf(problem ? stderr : stdout,
               "%s%susage: recovery [options]\n"
               "  --ranks=N        ranks before the death (default 4, at least 2)\n"
               "  --trials=N       trials per row; min, median, max reported (default 5)\n"
               "  --timeout-ms=N   the communicators' timeout (default 2000)\n"
               "  --smoke          2 ranks, 1 trial, 300 ms timeout\n"
               "  --help           this text\n",
               problem ? problem : "", problem ? "\n" : "");
  std::exit(problem ? 2 : 0);
}

Config parse(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&](std::string_view flag) {
      return colt::bench::number_flag(a, flag, usage);
    };
    long v = 0;
    if (a == "--help" || a == "-h") usage(nullptr);
    if (a == "--smoke")
      c = Config{2, 1, 300};
    else if ((v = value("--ranks=")) >= 0)
      c.ranks = static_cast<int>(v);
    else if ((v = value("--trials=")) >= 0)
      c.trials = static_cast<int>(v);
    else if ((v = value("--timeout-ms=")) >= 0)
      c.timeout_ms = static_cast<int>(v);
    else
      usage(("unknown option " + std::string(a)).c_str());
  }
  if (c.ranks < 2 || c.trials < 1 || c.timeout_ms < 1)
    usage("ranks at least 2, trials and timeout at least 1");
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const Config c = parse(argc, argv);
  colt::CommunicatorOptions options;
  options.timeout = std::chrono::milliseconds(c.timeout_ms);
  std::printf("%d ranks lose rank %d; timeout %d ms; %d trials\n", c.ranks, c.ranks - 1,
              c.timeout_ms, c.trials);
  std::printf("%-28s %10s %10s %10s\n", "death -> computing again", "min ms", "median ms",
              "max ms");
  bool ok = true;
  const auto inprocess = [&](int ranks, auto&& fn) {
    return colt::inprocess::launch_surviving(ranks, fn, options);
  };
  row(c, "in-process, thread ends", Death::thread_ends, inprocess, ok);
  row(c, "in-process, rank hangs", Death::hangs, inprocess, ok);
#ifdef COLT_BENCH_WITH_UCX
  const auto ucx = [&](int ranks, auto&& fn) {
    return colt::ucx::launch_surviving(ranks, fn, options);
  };
  row(c, "UCX, worker vanishes", Death::thread_ends, ucx, ok);
#endif
  return ok ? 0 : 1;
}
