// The collective property suite over the MPI transport: each process is one rank, computes every
// rank's seeded random input, runs the collective on its own, checks its result against the
// reference and (through plain MPI) that results are bitwise identical across ranks.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>
#include <vector>

#include "colt/colt.hpp"
#include "mpi_cases.hpp"
#include "ranks.hpp"
#include "reference.hpp"

using namespace colt;
using namespace colt::test;

namespace {

template <class T>
std::vector<T> concatenated(const std::vector<std::vector<T>>& parts) {
  std::vector<T> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

template <class T, class Op>
void check_all_reduce(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name));
  auto& comm = world();
  const auto r = static_cast<std::size_t>(comm.rank());
  const auto inputs = random_inputs<T, Op>(c, [&](int) { return c.count; });
  std::vector<T> out;
  if (c.in_place) {
    out = inputs[r];
    all_reduce(comm, out, Op{}, c.algorithm);
  } else {
    out = poisoned<T>(c.count, c.seed + r);
    all_reduce(comm, inputs[r], out, Op{}, c.algorithm);
  }
  const std::string wrong = Reference<T, Op>(inputs, 0, c.count).check(out);
  CHECK_MESSAGE(wrong.empty(), "rank " << r << ": " << wrong);
  CHECK_MESSAGE(identical_on_all_ranks<T>(out), "results differ between ranks");
}

template <class T, class Op>
void check_reduce_scatter(const Case& c, bool v) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name) << std::string(v ? " (v)" : ""));
  auto& comm = world();
  const auto r = static_cast<std::size_t>(comm.rank());
  const auto counts = block_counts(c, v);
  const auto offsets = offsets_of(counts);
  const auto inputs = random_inputs<T, Op>(c, [&](int) { return offsets.back(); });
  std::vector<T> out;
  if (v) {
    out = poisoned<T>(counts[r], c.seed + r);
    reduce_scatter_v(comm, inputs[r], out, counts, Op{}, c.algorithm);
  } else if (c.in_place) {
    std::vector<T> data = inputs[r];
    auto own = reduce_scatter(comm, data, Op{}, c.algorithm);
    CHECK(own.data() == data.data() + offsets[r]);
    out.assign(own.begin(), own.end());
  } else {
    out = poisoned<T>(counts[r], c.seed + r);
    reduce_scatter(comm, inputs[r], out, Op{}, c.algorithm);
  }
  const std::string wrong = Reference<T, Op>(inputs, offsets[r], counts[r]).check(out);
  CHECK_MESSAGE(wrong.empty(), "rank " << r << ": " << wrong);
}

template <class T>
void check_all_gather(const Case& c, bool v) {
  INFO(describe(c, name_of(data_type_of<T>)) << std::string(v ? " (v)" : ""));
  auto& comm = world();
  const auto r = static_cast<std::size_t>(comm.rank());
  const auto counts = block_counts(c, v);
  const auto offsets = offsets_of(counts);
  const auto inputs = random_inputs<T>(c, [&](int k) { return counts[static_cast<std::size_t>(k)]; });
  std::vector<T> out = poisoned<T>(offsets.back(), c.seed + r);
  if (c.in_place) {  // own block already in place
    std::copy(inputs[r].begin(), inputs[r].end(), out.begin() + static_cast<std::ptrdiff_t>(offsets[r]));
    if (v) all_gather_v(comm, std::span(out).subspan(offsets[r], counts[r]), out, counts, c.algorithm);
    else all_gather(comm, out, c.algorithm);
  } else if (v) {
    all_gather_v(comm, inputs[r], out, counts, c.algorithm);
  } else {
    all_gather(comm, inputs[r], out, c.algorithm);
  }
  CHECK_MESSAGE(same_bits<T>(out, concatenated(inputs)), "rank " << r);
  CHECK_MESSAGE(identical_on_all_ranks<T>(out), "results differ between ranks");
}

template <class T>
void check_broadcast(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>)));
  auto& comm = world();
  const auto r = static_cast<std::size_t>(comm.rank());
  const auto inputs = random_inputs<T>(c, [&](int) { return c.count; });
  std::vector<T> data = inputs[r];
  broadcast(comm, data, c.root, c.algorithm);
  CHECK_MESSAGE(same_bits<T>(data, inputs[static_cast<std::size_t>(c.root)]), "rank " << r);
}

template <class T, class Op>
void check_reduce(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name));
  auto& comm = world();
  const auto r = static_cast<std::size_t>(comm.rank());
  const auto inputs = random_inputs<T, Op>(c, [&](int) { return c.count; });
  std::vector<T> out, untouched;
  if (c.in_place) {
    out = untouched = inputs[r];
    reduce(comm, out, c.root, Op{}, c.algorithm);
  } else {
    out = untouched = poisoned<T>(c.count, c.seed + r);
    reduce(comm, inputs[r], out, c.root, Op{}, c.algorithm);
  }
  if (comm.rank() == c.root) {
    const std::string wrong = Reference<T, Op>(inputs, 0, c.count).check(out);
    CHECK_MESSAGE(wrong.empty(), wrong);
  } else {
    CHECK_MESSAGE(same_bits<T>(out, untouched), "non-root rank " << r << " buffer was written");
  }
}

template <class T>
void check_scatter(const Case& c, bool v) {
  INFO(describe(c, name_of(data_type_of<T>)) << std::string(v ? " (v)" : ""));
  auto& comm = world();
  const auto r = static_cast<std::size_t>(comm.rank());
  const bool root = comm.rank() == c.root;
  const auto counts = block_counts(c, v);
  const auto offsets = offsets_of(counts);
  const auto source = random_inputs<T>(c, [&](int) { return offsets.back(); });
  const std::vector<T>& root_data = source[static_cast<std::size_t>(c.root)];
  std::vector<T> out = poisoned<T>(counts[r], c.seed + r);
  std::vector<T> none;
  if (root && c.in_place && !v) {
    std::vector<T> all = root_data;
    std::span<T> own = std::span(all).subspan(offsets[r], counts[r]);
    scatter(comm, all, own, c.root, c.algorithm);
    out.assign(own.begin(), own.end());
  } else if (v) {
    scatter_v(comm, root ? root_data : none, out, counts, c.root, c.algorithm);
  } else {
    scatter(comm, root ? root_data : none, out, c.root, c.algorithm);
  }
  CHECK_MESSAGE(same_bits<T>(out, std::span(root_data).subspan(offsets[r], counts[r])), "rank " << r);
}

template <class T>
void check_gather(const Case& c, bool v) {
  INFO(describe(c, name_of(data_type_of<T>)) << std::string(v ? " (v)" : ""));
  auto& comm = world();
  const auto r = static_cast<std::size_t>(comm.rank());
  const bool root = comm.rank() == c.root;
  const auto counts = block_counts(c, v);
  const auto offsets = offsets_of(counts);
  const auto inputs = random_inputs<T>(c, [&](int k) { return counts[static_cast<std::size_t>(k)]; });
  std::vector<T> out = poisoned<T>(root ? offsets.back() : 0, c.seed + r);
  if (root && c.in_place) {
    std::copy(inputs[r].begin(), inputs[r].end(), out.begin() + static_cast<std::ptrdiff_t>(offsets[r]));
    std::span<T> own = std::span(out).subspan(offsets[r], counts[r]);
    if (v) gather_v(comm, own, out, counts, c.root, c.algorithm);
    else gather(comm, own, out, c.root, c.algorithm);
  } else if (v) {
    gather_v(comm, inputs[r], out, counts, c.root, c.algorithm);
  } else {
    gather(comm, inputs[r], out, c.root, c.algorithm);
  }
  if (root) CHECK(same_bits<T>(out, concatenated(inputs)));
}

const std::vector<Algorithm> all_reduce_algorithms = {algo::ring, algo::tree, algo::direct, algo::automatic};
const std::vector<Algorithm> reduce_scatter_algorithms = {algo::ring, algo::direct, algo::automatic};
const std::vector<Algorithm> all_gather_algorithms = {algo::ring, algo::direct, algo::automatic};
const std::vector<Algorithm> rooted_algorithms = {algo::tree, algo::direct, algo::automatic};
const std::vector<Algorithm> direct_only = {algo::direct, algo::automatic};

}  // namespace

TEST_CASE("mpi all_reduce: every algorithm x small counts x type x op x form, and large counts") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_world_cases(1, all_reduce_algorithms, [&](const Case& c) { check_all_reduce<T, Op>(c); });
      Case large;
      if (world_large_case(k++, all_reduce_algorithms, 1, large)) check_all_reduce<T, Op>(large);
    });
  });
}

TEST_CASE("mpi reduce_scatter and reduce_scatter_v") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_world_cases(2, reduce_scatter_algorithms, [&](const Case& c) {
        check_reduce_scatter<T, Op>(c, false);
        if (!c.in_place) check_reduce_scatter<T, Op>(c, true);
      });
      Case large;
      if (world_large_case(k++, reduce_scatter_algorithms, 2, large)) check_reduce_scatter<T, Op>(large, false);
    });
  });
}

TEST_CASE("mpi all_gather and all_gather_v") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_world_cases(3, all_gather_algorithms, [&](const Case& c) {
      check_all_gather<T>(c, false);
      check_all_gather<T>(c, true);
    });
    Case large;
    if (world_large_case(k++, all_gather_algorithms, 3, large)) check_all_gather<T>(large, large.in_place);
  });
}

TEST_CASE("mpi broadcast and reduce: every root-taking algorithm") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_world_cases(4, rooted_algorithms, [&](const Case& c) {
      if (!c.in_place) check_broadcast<T>(c);
    });
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_world_cases(5, rooted_algorithms, [&](const Case& c) { check_reduce<T, Op>(c); });
      Case large;
      if (world_large_case(k++, rooted_algorithms, 5, large)) {
        check_reduce<T, Op>(large);
        check_broadcast<T>(large);
      }
    });
  });
}

TEST_CASE("mpi scatter, scatter_v, gather, gather_v") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_world_cases(6, direct_only, [&](const Case& c) {
      for (bool v : {false, true}) {
        check_scatter<T>(c, v);
        check_gather<T>(c, v);
      }
    });
    Case large;
    if (world_large_case(k++ * 4, direct_only, 6, large)) {
      check_scatter<T>(large, false);
      check_gather<T>(large, true);
    }
  });
}

TEST_CASE("mpi barrier: nobody leaves before everybody arrived") {
  auto& comm = world();
  // Each rank in turn arrives late and leaves a file behind just before entering the barrier:
  // every other rank must see that file when it leaves. (Files, not clocks: ranks on a shared
  // core arrive staggered anyway, so times prove nothing.)
  char directory[] = "/tmp/colt_barrier_XXXXXX";
  if (comm.rank() == 0) REQUIRE(mkdtemp(directory) != nullptr);
  MPI_Bcast(directory, sizeof directory, MPI_CHAR, 0, MPI_COMM_WORLD);
  for (int late = 0; late < comm.size(); ++late) {
    const auto marker = std::filesystem::path(directory) / ("arrived_" + std::to_string(late));
    if (comm.rank() == late) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      std::ofstream(marker) << late;
    }
    barrier(comm);
    CHECK_MESSAGE(std::filesystem::exists(marker), "rank " << comm.rank() << " left before rank " << late << " arrived");
  }
  barrier(comm);
  if (comm.rank() == 0) std::filesystem::remove_all(directory);
}

TEST_CASE("mpi send/recv: user tags keep messages apart, sizes are checked") {
  auto& comm = world();
  if (comm.size() < 2) return;
  std::mt19937_64 rng(base_seed() + 99);
  const auto a = random_buffer<double>(rng, 1000), b = random_buffer<double>(rng, 17);
  if (comm.rank() == 0) {
    send(comm, a, 1, 5);
    send(comm, b, 1, 6);
  } else if (comm.rank() == 1) {
    std::vector<double> got_b(17), got_a(1000);
    recv(comm, got_a, 0, 5);
    recv(comm, got_b, 0, 6);
    CHECK(same_bits<double>(got_a, a));
    CHECK(same_bits<double>(got_b, b));
  }
}

TEST_CASE("mpi split and dup: sub-communicators run collectives on their own") {
  auto& comm = world();
  auto halves = comm.split(comm.rank() % 2, -comm.rank());  // reversed order within each half
  const int expected_size = (comm.size() + 1 - comm.rank() % 2) / 2;
  CHECK(halves.size() == expected_size);
  std::vector<std::int64_t> ranks = {comm.rank()};
  all_reduce(halves, ranks, sum{});
  std::int64_t expected = 0;
  for (int r = comm.rank() % 2; r < comm.size(); r += 2) expected += r;
  CHECK(ranks[0] == expected);
  auto copy = comm.dup();
  std::vector<float> one = {1.0f};
  all_reduce(copy, one, sum{});
  CHECK(one[0] == static_cast<float>(comm.size()));
}
