// Every collective and algorithm on in-process ranks (threads of this process), timed and
// checked as nccl-tests does; see support/suite.hpp for the flags and support/runner.hpp for
// the timing. The ranks of one rank count stay up for all of its rows.
//
//   build/benchmarks/collectives_inprocess --ranks=2 --collectives=all_reduce --format=nccl-tests

#include <cstring>

#include "colt/colt.hpp"
#include "support/suite.hpp"

int main(int argc, char** argv) {
  using namespace colt::bench;
  const Options options = parse_options(argc, argv);
  if (options.ranks.size() > 1)
    for (int i = 1; i < argc; ++i)
      if (std::strncmp(argv[i], "--benchmark_out=", 16) == 0) {
        std::fprintf(
            stderr,
            "--benchmark_out takes one rank count per run (each would overwrite the file)\n");
        return 2;
      }
  if (!initialize(argc, argv)) return 2;
  Suite suite(measure_memory_bandwidth());
  for (int ranks : options.ranks) {
    const std::vector<Case> cases = make_cases(options, ranks, false, true);
    colt::inprocess::launch(ranks, [&](colt::inprocess::Communicator& comm) {
      if (options.nodes) comm.nodes();  // COLT_RANKS_PER_NODE makes the emulated nodes
      lead_or_follow(comm, options, cases, suite,
                     [&](auto& cm, const Case& c, benchmark::State* state, int batches) {
                       return with_type(c.type, [&]<class T>(T) {
                         return run_row<T>(
                             cm, c, state, batches, options.timing,
                             [](auto& x, const Case& cs, auto& b) { colt_call(x, cs, b); });
                       });
                     });
    });
  }
  return finish(suite);
}
