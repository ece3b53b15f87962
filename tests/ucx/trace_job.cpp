// One rank of a job of UCX processes that meet through a rendezvous directory, for the flight
// recorder's process cases (tests/ucx/trace_a_job.sh): every rank makes 40 all_reduce calls of
// 256 KiB (large enough that the survivors' sends to a stopped rank use UCX's rendezvous
// protocol and stay pending, which their shutdown must clear), and the culprit rank
//   kill      kills itself (SIGKILL) as it starts call #5, as a crashed process would;
//   stop      stops (SIGSTOP) there, as a hung one would;
//   mismatch  passes half the count in call #5;
//   slow      enters every call 20 ms after the others.
// The others wait, warn (the watchdog), fail and write their dumps to COLT_TRACE_DIR. Every
// rank still alive at the end writes its dump there too (as a program may on its way out),
// prints its error if any, and exits 0, since failing is what the case expects.
//
// Usage: test_ucx_trace_job RANK WORLD RENDEZVOUS_DIR CULPRIT kill|stop|mismatch|slow
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "colt/colt.hpp"
#include "colt/transport/ucx.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s RANK WORLD RENDEZVOUS_DIR CULPRIT kill|stop|mismatch|slow\n",
                 argv[0]);
    return 2;
  }
  const int rank = std::atoi(argv[1]);
  const int world = std::atoi(argv[2]);
  const int culprit = std::atoi(argv[4]);
  const std::string fault = argv[5];
  try {
    colt::FileRendezvous rendezvous(argv[3], rank, world);
    auto comm = colt::ucx::communicator(rendezvous);
    std::vector<float> data(65536, 1.0f + static_cast<float>(rank));
    try {
      for (std::uint32_t call = 0; call < 40; ++call) {
        std::span<float> part(data);
        if (rank == culprit) {
          if (call == 5 && (fault == "kill" || fault == "stop")) {
            std::fflush(stdout);
            std::raise(fault == "kill" ? SIGKILL : SIGSTOP);
          }
          if (call == 5 && fault == "mismatch") part = part.first(32768);
          if (fault == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        colt::all_reduce(comm, part, colt::sum{});
      }
      std::printf("rank %d finished every call\n", rank);
    } catch (const colt::Error& e) {
      std::printf("rank %d: %s\n", rank, e.what());
    }
    if (const char* dir = std::getenv("COLT_TRACE_DIR")) comm.dump_trace(comm.trace_file(dir));
  } catch (const colt::Error& e) {
    std::printf("rank %d: %s\n", rank, e.what());
    return 1;
  }
  return 0;
}
