#pragma once
// The sample programs' main, once: read the word list, build the examples, then run
// body(comm, data) on every rank (in-process threads by default, the MPI processes of an
// mpiexec job with --transport mpi), and turn any exception into a message and exit status 1.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>

#include "../02_data_parallel_trainer/words.hpp"
#include "colt/transport/inprocess.hpp"
#include "options.hpp"
#include "text.hpp"
#ifdef COLT_SAMPLE_WITH_MPI
#include "colt/transport/mpi.hpp"
#endif

namespace samples {

// How many processes the MPI launcher that started this one started, from what the launchers
// put in the environment (MPICH's Hydra: PMI_SIZE, MPI_LOCALNRANKS; Open MPI:
// OMPI_COMM_WORLD_SIZE; any PMIx launcher, srun --mpi=pmix too: PMIX_RANK); 1 without one.
inline long launched_processes() {
  const auto read = [](const char* name) {
    const char* text = std::getenv(name);
    return text ? std::strtol(text, nullptr, 10) : 0L;
  };
  long n = std::max({1L, read("PMI_SIZE"), read("OMPI_COMM_WORLD_SIZE"), read("MPI_LOCALNRANKS")});
  // Only a rank: a rank above 0 says there are several.
  if (std::max({read("PMI_RANK"), read("OMPI_COMM_WORLD_RANK"), read("PMIX_RANK")}) > 0)
    n = std::max(n, 2L);
  return n;
}

// Under `mpiexec -n P` without --transport mpi, every process would train its own in-process
// job, P times over, and say nothing: stop instead, with the flag to add. Rank 0 says it once.
inline void refuse_launcher_without_mpi(const char* program, const Options& o) {
  const long processes = launched_processes();
  if (o.transport == "mpi" || processes < 2) return;
  const char* rank = std::getenv("PMI_RANK");
  if (!rank) rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (!rank) rank = std::getenv("PMIX_RANK");
  if (!rank || std::strtol(rank, nullptr, 10) == 0) {
#ifdef COLT_SAMPLE_WITH_MPI
    const char* fix = "add --transport mpi to make them one job";
#else
    const char* fix =
        "this build has no MPI: install MPICH (libmpich-dev), rebuild, then add --transport mpi";
#endif
    std::fprintf(stderr,
                 "%s: started by an MPI launcher as %s, each of which would train alone on %s; "
                 "%s\n",
                 program, count_of(processes, "process", "processes").c_str(),
                 count_of(o.ranks, "in-process rank").c_str(), fix);
  }
  std::exit(2);
}

template <class Body>
int run_on_ranks([[maybe_unused]] int argc, [[maybe_unused]] char** argv, const char* program,
                 [[maybe_unused]] const char* own_usage, const Options& o, Body&& body) {
  refuse_launcher_without_mpi(program, o);
  try {
#ifdef COLT_SAMPLE_WITH_MPI
    std::optional<colt::mpi::Environment> mpi;
#endif
    const auto words = char_mlp::read_words(o.words);
    const char_mlp::Dataset data =
        char_mlp::make_dataset(words, o.train.shape.context, o.train.seed);
    const auto banner = [&](int ranks, const char* kind) {
      std::printf("%zu words (%zu examples for training, %zu for validation), %s\n", words.size(),
                  data.train.size(), data.validation.size(),
                  count_of(ranks, std::string(kind) + " rank").c_str());
    };
    if (o.transport == "mpi") {
#ifdef COLT_SAMPLE_WITH_MPI
      mpi.emplace(argc, argv);
      auto comm = colt::mpi::world();
      if (comm.rank() == 0) banner(comm.size(), "MPI");
      body(comm, data);
#else
      usage(program, own_usage, "this build has no MPI: install MPICH (libmpich-dev) and rebuild");
#endif
    } else {
      banner(o.ranks, "in-process");
      colt::inprocess::launch(o.ranks,
                              [&](colt::inprocess::Communicator& comm) { body(comm, data); });
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  return 0;
}

}  // namespace samples
