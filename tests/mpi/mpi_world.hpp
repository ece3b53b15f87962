#pragma once
// Shared by the MPI test programs: colt's world communicator (made once, after MPI_Init) and
// cross-rank checks done with plain MPI, independent of the colt code under test.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "colt/transport/mpi.hpp"
#include "fingerprint.hpp"
#include "matrix.hpp"

namespace colt::test {

inline std::unique_ptr<mpi::Communicator>& world_slot() {
  static std::unique_ptr<mpi::Communicator> slot;
  return slot;
}

// colt's communicator over MPI_COMM_WORLD; test cases share it, as an application would.
inline mpi::Communicator& world() {
  auto& slot = world_slot();
  if (!slot) slot = std::make_unique<mpi::Communicator>(mpi::world());
  return *slot;
}

// What else a test program made on top of MPI and must free before MPI_Finalize.
inline std::vector<void (*)()>& release_hooks() {
  static std::vector<void (*)()> hooks;
  return hooks;
}

// Frees what the program made over MPI, then colt's duplicate of MPI_COMM_WORLD, before
// MPI_Finalize.
inline void release_world() {
  for (auto hook : release_hooks()) hook();
  world_slot().reset();
}

// True on every rank iff `data` is bitwise the same on every rank (compared by hash and size,
// through MPI_Allgather on MPI_COMM_WORLD, not through colt).
template <class T>
bool identical_on_all_ranks(std::span<const T> data) {
  std::uint64_t mine[2] = {fingerprint(std::as_bytes(data)), data.size()};
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<std::uint64_t> all(2 * static_cast<std::size_t>(size));
  MPI_Allgather(mine, 2, MPI_UINT64_T, all.data(), 2, MPI_UINT64_T, MPI_COMM_WORLD);
  for (int r = 0; r < size; ++r)
    if (all[2 * static_cast<std::size_t>(r)] != mine[0] ||
        all[2 * static_cast<std::size_t>(r) + 1] != mine[1])
      return false;
  return true;
}

// True on every rank iff `ok` holds on every rank.
inline bool all_ranks(bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

// A directory every rank sees: made by rank 0, its name sent with MPI_Bcast; removed at exit.
inline std::string shared_temporary_directory() {
  static std::string made;
  if (!made.empty()) return made;
  char directory[] = "/tmp/colt_test_XXXXXX";
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0 && !mkdtemp(directory)) directory[0] = '\0';
  MPI_Bcast(directory, sizeof directory, MPI_CHAR, 0, MPI_COMM_WORLD);
  made = directory;
  if (rank == 0) std::atexit([] { std::filesystem::remove_all(made); });
  return made;
}

// The per-rank suite's world (rank_suite.hpp) for a communicator `Comm` of this MPI job: results
// are compared through plain MPI. `make` builds the communicator once.
template <class Comm>
struct MpiSuiteWorld {
  Comm& (*make)();
  int rotation = 0;
  Comm& comm() { return make(); }
  bool identical(std::span<const std::byte> bytes) { return identical_on_all_ranks(bytes); }
  bool reduced() const { return reduced_scale(); }
  std::string shared_directory() { return shared_temporary_directory(); }
};

inline MpiSuiteWorld<mpi::Communicator>& mpi_suite_world() {
  static MpiSuiteWorld<mpi::Communicator> w{&world};
  return w;
}

}  // namespace colt::test
