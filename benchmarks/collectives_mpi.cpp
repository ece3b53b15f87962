// Every collective and algorithm of colt over MPI processes, and the MPI library's own
// collective on the same buffers in the same run (rows named .../mpi/...), timed and checked as
// nccl-tests does; see support/suite.hpp for the flags and support/runner.hpp for the timing.
// Rank 0 runs Google Benchmark and tells the other ranks which row to run next.
//
//   mpiexec.mpich -n 2 build/benchmarks/collectives_mpi --collectives=all_reduce
//   --format=nccl-tests

#include <unistd.h>

#include "colt/colt.hpp"
#include "colt/transport/mpi.hpp"
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

}  // namespace

int main(int argc, char** argv) {
  colt::mpi::Environment environment(argc, argv);
  auto comm = colt::mpi::world();
  MPI_Comm native = comm.transport().native();
  const Options options = parse_options(argc, argv);
  if (options.nodes) comm.nodes();  // before any row: plan() weighs what it learns
  const std::vector<Case> cases = make_cases(options, comm.size(), true, false);
  if (comm.rank() == 0 && !initialize(argc, argv)) MPI_Abort(native, 2);
  MemoryBandwidth bandwidth;
  if (comm.rank() == 0) bandwidth = measure_memory_bandwidth();
  sleepy_barrier(native);
  Suite suite(bandwidth);
  lead_or_follow(comm, options, cases, suite,
                 [&](auto& cm, const Case& c, benchmark::State* state, int batches) {
                   return with_type(c.type, [&]<class T>(T) {
                     return run_row<T>(cm, c, state, batches, options.timing,
                                       [](auto& x, const Case& cs, auto& b) {
                                         if (cs.who.mpi)
                                           mpi_call(x, cs, b);
                                         else
                                           colt_call(x, cs, b);
                                       });
                   });
                 });
  return comm.rank() == 0 ? finish(suite) : 0;
}
