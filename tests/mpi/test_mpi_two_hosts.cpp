// Two ranks on two "hosts": network namespaces joined only by a veth pair (two_hosts.sh sets them
// up and launches this through Hydra). Checks that the ranks really are in different network
// namespaces, then that all_reduce, all_gather and broadcast give the right answers over TCP.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <vector>

#include "colt/colt.hpp"
#include "matrix.hpp"
#include "mpi_world.hpp"
#include "ranks.hpp"
#include "reference.hpp"

using namespace colt;
using namespace colt::test;

TEST_CASE("two hosts: the ranks live in different network namespaces") {
  struct stat own {};
  REQUIRE(stat("/proc/self/ns/net", &own) == 0);
  const std::uint64_t inode = own.st_ino;
  std::vector<std::uint64_t> all(static_cast<std::size_t>(world().size()));
  MPI_Allgather(&inode, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
  for (std::size_t r = 1; r < all.size(); ++r)
    CHECK_MESSAGE(all[r] != all[0], "rank " << r << " shares rank 0's network");
}

TEST_CASE("two hosts: all_reduce, all_gather and broadcast over TCP") {
  auto& comm = world();
  const auto r = static_cast<std::size_t>(comm.rank());
  std::mt19937_64 rng(base_seed() ^ 0x7E7);
  for (std::size_t count : {std::size_t{1}, std::size_t{7919}, std::size_t{1000003}}) {
    for (Algorithm algorithm : {algo::ring, algo::tree, algo::automatic}) {
      Case c{comm.size(), count, false, algorithm, static_cast<int>(rng() % 2), rng()};
      INFO(describe(c, "float32", "sum"));
      const auto inputs = random_inputs<float, sum>(c, [&](int) { return count; });
      std::vector<float> out(count);
      all_reduce(comm, inputs[r], out, sum{}, algorithm);
      const std::string wrong = Reference<float, sum>(inputs, 0, count).check(out);
      CHECK_MESSAGE(wrong.empty(), wrong);
      CHECK(identical_on_all_ranks<float>(out));

      std::vector<std::int64_t> values =
          random_inputs<std::int64_t>(c, [&](int) { return count; })[r];
      const auto all_values = random_inputs<std::int64_t>(c, [&](int) { return count; });
      std::vector<std::int64_t> gathered(count * static_cast<std::size_t>(comm.size()));
      all_gather(comm, values, gathered, algorithm == algo::tree ? algo::automatic : algorithm);
      std::vector<std::int64_t> expected;
      for (const auto& v : all_values) expected.insert(expected.end(), v.begin(), v.end());
      CHECK(same_bits<std::int64_t>(gathered, expected));

      broadcast(comm, values, c.root, algorithm == algo::ring ? algo::automatic : algorithm);
      CHECK(same_bits<std::int64_t>(values, all_values[static_cast<std::size_t>(c.root)]));
    }
  }
}
