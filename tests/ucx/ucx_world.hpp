#pragma once
// UCX jobs of in-process ranks for the tests: every thread bootstraps a UCX communicator over an
// in-process one, runs the per-rank suite on it, and compares results across ranks through the
// in-process communicator (never through the UCX code under test).

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/barrier.hpp"
#include "colt/transport/hybrid.hpp"
#include "colt/transport/inprocess.hpp"
#include "colt/transport/ucx.hpp"
#include "fingerprint.hpp"
#include "matrix.hpp"

namespace colt::test {

// One job's thread ranks over the communicator under test (UCX, hybrid), with an in-process
// communicator of the same ranks that compares their results.
template <class Comm>
struct ThreadWorld {
  inprocess::Communicator& bootstrap;
  Comm& ucx;
  std::filesystem::path directory;
  bool reduced_ = false;
  int rotation = 0;

  Comm& comm() { return ucx; }
  bool reduced() const { return reduced_ || reduced_scale(); }
  std::string shared_directory() const { return directory.string(); }
  bool identical(std::span<const std::byte> bytes) {
    const auto p = static_cast<std::size_t>(bootstrap.size());
    std::vector<std::int64_t> all(2 * p, 0);
    const auto me = 2 * static_cast<std::size_t>(bootstrap.rank());
    all[me] = static_cast<std::int64_t>(fingerprint(bytes));
    all[me + 1] = static_cast<std::int64_t>(bytes.size());
    all_gather(bootstrap, std::span(all));
    for (std::size_t r = 0; r < p; ++r)
      if (all[2 * r] != all[me] || all[2 * r + 1] != all[me + 1]) return false;
    return true;
  }
};
using UcxThreadWorld = ThreadWorld<ucx::Communicator>;
using HybridWorld = ThreadWorld<hybrid::Communicator>;

// fn(UcxThreadWorld&) on `ranks` threads, each with a UCX communicator of its own. Rank counts
// from `reduced_from` up run the reduced matrix (up to 8 ranks share 2 cores), and with peer
// error handling off: UCX then moves their data over shared memory, as docs/ucx.md advises on
// one node, where the default (1 and 2 ranks here, and the MPI-bootstrapped suite) goes over
// TCP loopback. Both of UCX's paths run the suite (and its three longest parts took 5-15% less
// time, 2026-12-07).
template <class Fn>
void run_ucx_world(int ranks, Fn&& fn, int reduced_from = 3) {
  const auto directory = std::filesystem::temp_directory_path() /
                         ("colt_ucx_" + std::to_string(::getpid()) + "_" + std::to_string(ranks));
  std::filesystem::create_directories(directory);
  inprocess::launch(ranks, [&](inprocess::Communicator& bootstrap) {
    // One rank sends nothing over UCX: the reduced matrix covers its local copies.
    const bool reduced = ranks >= reduced_from || ranks == 1;
    ucx::Communicator comm =
        ucx::communicator(bootstrap, {}, ucx::Options{.peer_error_handling = !reduced});
    UcxThreadWorld world{bootstrap, comm, directory, reduced};
    try {
      fn(world);
    } catch (const std::exception& e) {
      comm.transport().abort(e.what());
      throw;
    }
  });
  std::filesystem::remove_all(directory);
}

// fn(HybridWorld&) on a hybrid communicator of `processes` x `threads` ranks
// (transport/hybrid.hpp), in-process threads standing in for the processes (each bootstraps
// through an in-process communicator of the processes), on nodes of `threads` ranks; results
// compared through an in-process communicator of all the ranks. Peer error handling off: UCX
// moves data over shared memory, as between the processes of one node.
template <class Fn>
void run_hybrid_world(int processes, int threads, Fn&& fn) {
  const int p = processes * threads;
  auto oracle = std::make_shared<inprocess::detail::Group>(p);
  CommunicatorOptions options;
  options.ranks_per_node = threads;
  inprocess::launch(processes, [&](inprocess::Communicator& process) {
    hybrid::launch(
        process, threads,
        [&](hybrid::Communicator& comm) {
          inprocess::Communicator check(inprocess::Transport(oracle, comm.rank()));
          HybridWorld world{check, comm, {}, true};
          try {
            fn(world);
          } catch (const std::exception& e) {
            oracle->abort(e.what(), comm.rank());  // the others' comparisons end at once
            throw;
          }
        },
        options, ucx::Options{.peer_error_handling = false});
  });
}

}  // namespace colt::test
