// Every collective and algorithm of colt over MPI processes, and the MPI library's own
// collective on the same buffers in the same run (rows named .../mpi/...), timed and checked as
// nccl-tests does; see support/suite.hpp for the flags and support/runner.hpp for the timing.
// Rank 0 runs Google Benchmark and tells the other ranks which row to run next.
//
//   mpiexec.mpich -n 2 build/benchmarks/collectives_mpi --collectives=all_reduce
//   --format=nccl-tests
//
// With --threads=M (built with UCX) every process runs M thread ranks of one hybrid
// communicator (transport/hybrid.hpp), and the MPI rows are what a hybrid MPI + threads program
// does for an all_reduce: the threads' sum to the process's first thread, MPI_Allreduce among
// the processes, a broadcast to the threads.

#include <unistd.h>

#include "colt/colt.hpp"
#include "colt/transport/mpi.hpp"
#ifdef COLT_BENCH_WITH_UCX
#include "colt/transport/hybrid.hpp"
#endif
#include "support/suite.hpp"

namespace {

using namespace colt::bench;

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>)
    return MPI_FLOAT;
  else
    return MPI_INT32_T;
}

// One call of the MPI library's own collective.
template <class T>
void mpi_call(colt::mpi::Communicator& comm, const Case& c, Buffers<T>& b) {
  if constexpr (std::is_same_v<T, colt::bfloat16>) {
    throw colt::Error(colt::ErrorKind::invalid_argument, colt::operation_of(c.kind),
                      colt::Error::Rank{comm.rank()}, "MPI has no bfloat16 type");
  } else {
    MPI_Comm native = comm.transport().native();
    const MPI_Datatype type = mpi_type<T>();
    const int n = static_cast<int>(c.count()), per = n / c.ranks;
    int status = MPI_SUCCESS;
    switch (c.kind) {
      case Kind::all_reduce:
        status = MPI_Allreduce(b.in.data(), b.out.data(), n, type, MPI_SUM, native);
        break;
      case Kind::reduce_scatter:
        status = MPI_Reduce_scatter_block(b.in.data(), b.out.data(), per, type, MPI_SUM, native);
        break;
      case Kind::all_gather:
        status = MPI_Allgather(b.in.data(), per, type, b.out.data(), per, type, native);
        break;
      case Kind::broadcast: status = MPI_Bcast(b.in.data(), n, type, c.root, native); break;
      case Kind::reduce:
        status = MPI_Reduce(b.in.data(), b.out.data(), n, type, MPI_SUM, c.root, native);
        break;
      case Kind::scatter:
        status = MPI_Scatter(b.in.data(), per, type, b.out.data(), per, type, c.root, native);
        break;
      case Kind::gather:
        status = MPI_Gather(b.in.data(), per, type, b.out.data(), per, type, c.root, native);
        break;
      case Kind::all_to_all:
        status = MPI_Alltoall(b.in.data(), per, type, b.out.data(), per, type, native);
        break;
      default:
        throw colt::Error(colt::ErrorKind::invalid_argument, colt::operation_of(c.kind),
                          colt::Error::Rank{comm.rank()}, "not a benchmarked collective");
    }
    colt::mpi::check(status, comm.rank(), colt::no_peer, std::string(name_of(c.kind)));
  }
}

// Waits at a barrier without spinning (MPICH's blocking calls busy-poll, which would steal the
// cores rank 0 is measuring memory bandwidth with).
void sleepy_barrier(MPI_Comm comm) {
  MPI_Request request;
  MPI_Ibarrier(comm, &request);
  for (int done = 0; !done;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (!done) usleep(1000);
  }
}

template <class Comm, class Row>
void run_all(Comm& comm, const Options& options, Suite& suite, bool with_mpi, Row mpi_row) {
  std::vector<Case> cases = make_cases(options, comm.size(), with_mpi, false);
  lead_or_follow(comm, options, cases, suite,
                 [&](auto& cm, const Case& c, benchmark::State* state, int batches) {
                   return with_type(c.type, [&]<class T>(T) {
                     return run_row<T>(cm, c, state, batches, options.timing,
                                       [&](auto& x, const Case& cs, auto& b) {
                                         if (cs.who.mpi)
                                           mpi_row(x, cs, b);
                                         else
                                           colt_call(x, cs, b);
                                       });
                   });
                 });
}

#ifdef COLT_BENCH_WITH_UCX
// The hybrid communicator of `processes` x options.threads ranks; its MPI rows (all_reduce
// only) sum over the process's threads, all-reduce among the processes with MPI on each
// process's first thread (its main thread: MPI_THREAD_FUNNELED is enough) and broadcast back.
void run_hybrid(colt::mpi::Communicator& processes, const Options& options, Suite& suite) {
  MPI_Comm native = processes.transport().native();
  colt::hybrid::launch(processes, options.threads, [&](colt::hybrid::Communicator& comm) {
    if (options.nodes) comm.nodes();
    auto threads = comm.split(comm.rank() / options.threads, comm.rank());
    auto mpi_row = [&](auto&, const Case& c, auto& b) {
      using T = typename std::decay_t<decltype(b.in)>::value_type;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, std::int32_t>) {
        if (c.kind != Kind::all_reduce)
          throw colt::Error(colt::ErrorKind::invalid_argument, colt::operation_of(c.kind),
                            colt::Error::Rank{comm.rank()}, "hybrid MPI rows are all_reduce");
        colt::reduce(threads, b.in, b.out, 0, colt::sum{});
        if (threads.rank() == 0)
          colt::mpi::check(MPI_Allreduce(MPI_IN_PLACE, b.out.data(), static_cast<int>(b.out.size()),
                                         mpi_type<T>(), MPI_SUM, native),
                           comm.rank(), colt::no_peer, "MPI_Allreduce");
        colt::broadcast(threads, b.out, 0);
      } else {
        throw colt::Error(colt::ErrorKind::invalid_argument, colt::operation_of(c.kind),
                          colt::Error::Rank{comm.rank()}, "MPI has no 16-bit floats");
      }
    };
    const bool all_reduce_only =
        options.kinds.size() == 1 && options.kinds.front() == Kind::all_reduce;
    run_all(comm, options, suite, all_reduce_only, mpi_row);
  });
}
#endif

}  // namespace

int main(int argc, char** argv) {
  colt::mpi::Environment environment(argc, argv);
  auto comm = colt::mpi::world();
  MPI_Comm native = comm.transport().native();
  const Options options = parse_options(argc, argv);
  if (options.nodes && options.threads == 1) comm.nodes();  // before any row: plan() uses it
  if (comm.rank() == 0 && !initialize(argc, argv)) MPI_Abort(native, 2);
  MemoryBandwidth bandwidth;
  if (comm.rank() == 0) bandwidth = measure_memory_bandwidth();
  sleepy_barrier(native);
  Suite suite(bandwidth);
  if (options.threads > 1) {
#ifdef COLT_BENCH_WITH_UCX
    run_hybrid(comm, options, suite);
#else
    if (comm.rank() == 0) std::fprintf(stderr, "--threads needs colt built with UCX\n");
    MPI_Abort(native, 2);
#endif
  } else {
    run_all(comm, options, suite, true,
            [](auto& x, const Case& cs, auto& b) { mpi_call(x, cs, b); });
  }
  return comm.rank() == 0 ? finish(suite) : 0;
}
