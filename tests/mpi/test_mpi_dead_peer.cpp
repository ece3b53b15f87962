// A rank that dies: rank 1 exits without a word (as a crash would) after one good collective.
// Every other rank's next collective must end in a colt::Error naming rank 1 within its timeout,
// not hang. Needs a launcher that lets the survivors run on (mpiexec.mpich -disable-auto-cleanup;
// by default Hydra kills the whole job when one process dies).
// Exit status: 0 when every survivor saw the right error, 1 otherwise.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "colt/transport/mpi.hpp"

int main(int argc, char** argv) {
  colt::mpi::Environment environment(argc, argv);
  auto comm = colt::mpi::world(colt::CommunicatorOptions{.timeout = std::chrono::seconds(3)});
  std::vector<float> data(100000, 1.0f);
  colt::all_reduce(comm, data, colt::sum{});
  if (comm.rank() == 1) std::_Exit(0);  // no MPI_Finalize, no goodbye

  const auto start = colt::Clock::now();
  int status = 1;
  try {
    colt::all_reduce(comm, data, colt::sum{}, colt::algo::ring);
    std::printf("rank %d: wrong: all_reduce completed without rank 1\n", comm.rank());
  } catch (const colt::Error& e) {
    const double waited = std::chrono::duration<double>(colt::Clock::now() - start).count();
    const std::string what = e.what();
    // Rank 0 and 2 talk to rank 1 directly; others learn of it through a neighbour's silence.
    const bool names_collective = e.collective() == "all_reduce";
    const bool bounded = waited < 20;
    status = names_collective && bounded && e.peer() != colt::no_peer ? 0 : 1;
    if (comm.size() == 2 && e.peer() != 1) status = 1;
    // tests/mpi/dead_peer.sh reads these lines: Hydra's exit status is not to be trusted here.
    std::printf("rank %d: %s: caught after %.2f s: %s\n", comm.rank(), status == 0 ? "ok" : "wrong",
                waited, what.c_str());
  }
  std::fflush(stdout);
  std::_Exit(status);  // MPI_Finalize would wait for the dead rank
}
