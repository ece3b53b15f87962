#pragma once
// Drives a benchmark whose every iteration is collective over in-process ranks: rank 0, on the
// benchmark's own thread (launch's contract), runs Google Benchmark's loop and tells the other
// ranks by broadcast, once per iteration, whether to run another step.

#include <benchmark/benchmark.h>

#include "colt/collectives/broadcast.hpp"

namespace colt::bench {

// Calls step() once per iteration on every rank; rank 0 hands each result to record(result).
template <class Comm, class Step, class Record>
void drive_ranks(benchmark::State& state, Comm& comm, Step&& step, Record&& record) {
  if (comm.rank() == 0) {
    for (auto _ : state) {
      int go[] = {1};
      broadcast(comm, go, 0);
      record(step());
    }
    int stop[] = {0};
    broadcast(comm, stop, 0);
  } else {
    for (;;) {
      int go[] = {0};
      broadcast(comm, go, 0);
      if (!go[0]) break;
      step();
    }
  }
}

}  // namespace colt::bench
