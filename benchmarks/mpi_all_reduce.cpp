// all_reduce over MPI processes: colt's algorithms side by side with the MPI library's own
// MPI_Allreduce on the same buffers, in the same run. Time is the slowest rank's per iteration,
// measured between two barriers (nccl-tests' convention); algbw = bytes / time,
// busbw = algbw * 2(n-1)/n. Rank 0 runs Google Benchmark and tells the other ranks, by
// MPI_Bcast, which case to run and when to stop, so every rank runs the same iterations.
//
//   mpiexec.mpich -n 2 build/benchmarks/mpi_all_reduce --benchmark_filter='/67108864'

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "colt/colt.hpp"
#include "colt/transport/mpi.hpp"
#include "support/memcpy_floor.hpp"

namespace {

using Clock = std::chrono::steady_clock;

enum Contender : int { colt_ring, colt_tree, colt_direct, colt_automatic, mpi_allreduce, quit };

colt::mpi::Communicator* world = nullptr;

// One timed all-reduce on every rank; returns the slowest rank's seconds.
double run_once(Contender who, std::vector<float>& data) {
  MPI_Comm native = world->transport().native();
  MPI_Barrier(native);
  const auto start = Clock::now();
  switch (who) {
    case colt_ring: colt::all_reduce(*world, data, colt::sum{}, colt::algo::ring); break;
    case colt_tree: colt::all_reduce(*world, data, colt::sum{}, colt::algo::tree); break;
    case colt_direct: colt::all_reduce(*world, data, colt::sum{}, colt::algo::direct); break;
    case colt_automatic: colt::all_reduce(*world, data, colt::sum{}); break;
    case mpi_allreduce:
      MPI_Allreduce(MPI_IN_PLACE, data.data(), static_cast<int>(data.size()), MPI_FLOAT, MPI_SUM, native);
      break;
    case quit: break;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count(), slowest = 0;
  MPI_Allreduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, native);
  return slowest;
}

std::vector<float> random_floats(std::size_t count, int rank) {
  std::vector<float> data(count);
  std::mt19937 rng(static_cast<unsigned>(rank) + 7);
  std::uniform_real_distribution<float> value(-1, 1);
  for (auto& x : data) x = value(rng);
  return data;
}

// Ranks other than 0: run what rank 0 announces until it says quit.
void follow() {
  MPI_Comm native = world->transport().native();
  for (;;) {
    std::int64_t command[2];  // {contender, bytes}
    MPI_Bcast(command, 2, MPI_INT64_T, 0, native);
    if (command[0] == quit) return;
    auto data = random_floats(static_cast<std::size_t>(command[1]) / sizeof(float), world->rank());
    const auto who = static_cast<Contender>(command[0]);
    run_once(who, data);  // warm-up, as on rank 0
    for (int go = 1;;) {
      MPI_Bcast(&go, 1, MPI_INT, 0, native);
      if (!go) break;
      run_once(who, data);
    }
  }
}

template <Contender who>
void all_reduce_float_sum(benchmark::State& state) {
  MPI_Comm native = world->transport().native();
  const auto bytes = static_cast<std::size_t>(state.range(0));
  std::int64_t command[2] = {who, static_cast<std::int64_t>(bytes)};
  MPI_Bcast(command, 2, MPI_INT64_T, 0, native);
  auto data = random_floats(bytes / sizeof(float), 0);
  run_once(who, data);  // warm-up: workspace, page faults, MPI's connections
  for (auto _ : state) {
    int go = 1;
    MPI_Bcast(&go, 1, MPI_INT, 0, native);
    state.SetIterationTime(run_once(who, data));
  }
  int stop = 0;
  MPI_Bcast(&stop, 1, MPI_INT, 0, native);
  const double n = world->size();
  const double moved = static_cast<double>(bytes) * static_cast<double>(state.iterations());
  state.counters["ranks"] = n;
  state.counters["algbw"] = benchmark::Counter(moved, benchmark::Counter::kIsRate);
  state.counters["busbw"] = benchmark::Counter(moved * 2 * (n - 1) / n, benchmark::Counter::kIsRate);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t bytes = 8; bytes <= (std::int64_t{64} << 20); bytes *= 16) b->Arg(bytes);
  b->Arg(std::int64_t{64} << 20);
}

}  // namespace

// The floor runs on rank 0 alone while the others wait in MPI_Bcast (MPICH spins there: with
// fewer cores than ranks, read it as a rough figure).
BENCHMARK(colt::bench::memcpy_floor)->Arg(std::int64_t{64} << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(all_reduce_float_sum<colt_ring>)->Apply(sizes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(all_reduce_float_sum<colt_tree>)->Apply(sizes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(all_reduce_float_sum<colt_direct>)->Apply(sizes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(all_reduce_float_sum<colt_automatic>)->Apply(sizes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(all_reduce_float_sum<mpi_allreduce>)->Apply(sizes)->UseManualTime()->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  colt::mpi::Environment environment(argc, argv);
  auto comm = colt::mpi::world();
  world = &comm;
  if (comm.rank() == 0) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    std::int64_t command[2] = {quit, 0};
    MPI_Bcast(command, 2, MPI_INT64_T, 0, comm.transport().native());
    benchmark::Shutdown();
  } else {
    follow();
  }
  world = nullptr;
  return 0;
}
