// 01_hello_all_reduce: four ranks, as threads of this process, each contribute a vector; one
// all_reduce leaves the element-wise sum on every rank, and every rank checks it.
//
//   build/samples/01_hello_all_reduce [ranks] [count]

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "colt/colt.hpp"

int main(int argc, char** argv) {
  const int ranks = argc > 1 ? std::atoi(argv[1]) : 4;
  const std::size_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 8;
  std::mutex print;
  int failures = 0;

  // example-begin hello
  colt::inprocess::launch(ranks, [&](colt::inprocess::Communicator& comm) {
    // Rank r contributes (r + 1) * (i + 1) at position i.
    std::vector<double> data(count);
    for (std::size_t i = 0; i < count; ++i) data[i] = (comm.rank() + 1.0) * (i + 1.0);

    colt::all_reduce(comm, data, colt::sum{});  // in place, on every rank

    // Expected: (1 + 2 + ... + ranks) * (i + 1).
    const double ranks_sum = comm.size() * (comm.size() + 1) / 2.0;
    bool ok = true;
    for (std::size_t i = 0; i < count; ++i) ok = ok && data[i] == ranks_sum * (i + 1.0);

    std::lock_guard lock(print);
    std::printf("rank %d of %d:", comm.rank(), comm.size());
    for (std::size_t i = 0; i < count && i < 8; ++i) std::printf(" %g", data[i]);
    std::printf("%s  check: %s\n", count > 8 ? " ..." : "", ok ? "ok" : "WRONG");
    failures += ok ? 0 : 1;
  });
  // example-end hello

  std::printf("all_reduce(sum) of %zu doubles on %d in-process ranks: %s\n", count, ranks,
              failures == 0 ? "correct on every rank" : "WRONG");
  return failures == 0 ? 0 : 1;
}
