// Every collective and algorithm on in-process ranks (threads of this process), timed and
// checked as nccl-tests does; see support/suite.hpp for the flags and support/runner.hpp for
// the timing.
//
//   build/benchmarks/collectives_inprocess --ranks=2 --collectives=all_reduce --format=nccl-tests

#include "colt/colt.hpp"
#include "support/suite.hpp"

int main(int argc, char** argv) {
  using namespace colt::bench;
  const Options options = parse_options(argc, argv);
  Suite suite(measure_memory_bandwidth());
  std::vector<Case> cases;
  for (int ranks : options.ranks)
    for (const Case& c : make_cases(options, ranks, false)) cases.push_back(c);
  auto body = [&](benchmark::State& state, const Case& c) {
    colt::inprocess::launch(c.ranks, [&](colt::inprocess::Communicator& comm) {
      const RowResult result = with_type(c.type, [&]<class T>(T) {
        return run_row<T>(comm, c, comm.rank() == 0 ? &state : nullptr, options.batches, options.timing,
                          [](auto& cm, const Case& cs, auto& b) { colt_call(cm, cs, b); });
      });
      if (comm.rank() == 0) suite.record(state, c, result);
    });
  };
  return run_benchmarks(argc, argv, options, cases, suite, body);
}
