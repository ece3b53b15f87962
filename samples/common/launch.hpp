#pragma once
// The sample programs' main, once: read the word list, build the examples, then run
// body(comm, data) on every rank (in-process threads by default, the MPI processes of an
// mpiexec job with --transport mpi), and turn any exception into a message and exit status 1.

#include <cstdio>
#include <exception>
#include <optional>

#include "../02_data_parallel_trainer/words.hpp"
#include "colt/transport/inprocess.hpp"
#include "options.hpp"
#ifdef COLT_SAMPLE_WITH_MPI
#include "colt/transport/mpi.hpp"
#endif

namespace samples {

template <class Body>
int run_on_ranks([[maybe_unused]] int argc, [[maybe_unused]] char** argv, const char* program,
                 [[maybe_unused]] const char* own_usage, const Options& o, Body&& body) {
  try {
#ifdef COLT_SAMPLE_WITH_MPI
    std::optional<colt::mpi::Environment> mpi;
#endif
    const auto words = char_mlp::read_words(o.words);
    const char_mlp::Dataset data =
        char_mlp::make_dataset(words, o.train.shape.context, o.train.seed);
    const auto banner = [&](int ranks, const char* kind) {
      std::printf("%zu words (%zu examples for training, %zu for validation), %d %s ranks\n",
                  words.size(), data.train.size(), data.validation.size(), ranks, kind);
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
