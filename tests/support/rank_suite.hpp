#pragma once
// The collective property suite as seen from one rank, for jobs where every rank runs the same
// code on its own: MPI processes, or the threads of a UCX job. Each rank makes its own seeded
// random input (LazyInputs, tests/support/ranks.hpp), runs the collective on the communicator
// under test, and asks the world (through a channel other than the one under test) whether
// results are bitwise identical on every rank. A result that every rank holds (all_reduce,
// all_gather) is checked against the reference by one rank, the case's root, which makes every
// rank's input; the others' equal it bit for bit. A rank's own result (reduce_scatter, scatter,
// broadcast) is checked by that rank, from the blocks of the inputs it covers.
//
// A world W provides:
//   w.comm()                  the communicator under test
//   w.identical(bytes)        true on every rank iff `bytes` is the same on every rank
//   w.reduced()               reduced scale: one count and form per algorithm (slow jobs)
//   w.rotation                an int the case enumeration keeps between calls (per rank)
//   w.shared_directory()      a directory every rank sees (collective; for the barrier test)

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "colt/colt.hpp"
#include "matrix.hpp"
#include "ranks.hpp"
#include "reference.hpp"

namespace colt::test::suite {

// The cases of one rank count: every algorithm x small counts {0, 1, 7, random} x both buffer
// forms at full scale; at reduced scale one count and form per algorithm, cycling through them
// from call to call (types, ops) so that together they still cover every one.
template <class W, class Fn>
void for_world_cases(W& w, std::uint64_t salt, const std::vector<Algorithm>& algorithms, Fn&& fn) {
  std::mt19937_64 rng(base_seed() ^ salt);
  const int p = w.comm().size();
  int turn = w.rotation++;
  for (Algorithm algorithm : algorithms) {
    const auto counts = small_counts(rng);
    for (std::size_t i = 0; i < counts.size(); ++i)
      for (bool in_place : {false, true}) {
        Case c{p,
               counts[i],
               in_place,
               algorithm,
               static_cast<int>(rng() % static_cast<unsigned>(p)),
               rng()};
        const bool chosen = !w.reduced() || (i == static_cast<std::size_t>(turn) % counts.size() &&
                                             in_place == (turn % 2 == 1));
        if (chosen) fn(c);
      }
    ++turn;
  }
}

// Large counts: sample index k (one per type x op pair) picks algorithm and form in turn; at
// reduced scale one in four is kept. For collectives whose count is one rank's block
// (`per_block`: reduce_scatter, all_gather, scatter, gather) the blocks add up to about the large
// count, as in the in-process suites; every rank computes every rank's input, so the work grows
// with the square of the rank count.
template <class W>
bool world_large_case(W& w, int k, const std::vector<Algorithm>& algorithms, std::uint64_t salt,
                      Case& c, bool per_block = false) {
  c = large_case(k, algorithms, salt);
  c.ranks = w.comm().size();
  if (per_block) c.count = large_count / static_cast<std::size_t>(c.ranks);
  c.root = static_cast<int>(c.seed % static_cast<unsigned>(c.ranks));
  return !w.reduced() || k % 4 == 0;
}

template <class T>
std::vector<T> concatenated(const std::vector<std::vector<T>>& parts) {
  std::vector<T> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

template <class T, class Op, class W>
void check_all_reduce(W& w, const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name));
  auto& comm = w.comm();
  const auto r = static_cast<std::size_t>(comm.rank());
  const LazyInputs<T, Op> inputs(c, [&](int) { return c.count; });
  const std::vector<T> own = inputs.of(comm.rank());
  std::vector<T> out;
  if (c.in_place) {
    out = own;
    all_reduce(comm, out, Op{}, c.algorithm);
  } else {
    out = poisoned<T>(c.count, c.seed + r);
    all_reduce(comm, own, out, Op{}, c.algorithm);
  }
  if (comm.rank() == c.root) {
    const std::string wrong = Reference<T, Op>(inputs.all(), 0, c.count).check(out);
    CHECK_MESSAGE(wrong.empty(), "rank " << r << ": " << wrong);
  }
  CHECK_MESSAGE(w.identical(std::as_bytes(std::span<const T>(out))),
                "results differ between ranks");
}

template <class T, class Op, class W>
void check_reduce_scatter(W& w, const Case& c, bool v) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name) << std::string(v ? " (v)" : ""));
  auto& comm = w.comm();
  const auto r = static_cast<std::size_t>(comm.rank());
  const auto counts = block_counts(c, v);
  const auto offsets = offsets_of(counts);
  const LazyInputs<T, Op> inputs(c, [&](int) { return offsets.back(); });
  const std::vector<T> own = inputs.of(comm.rank());
  std::vector<T> out;
  if (v) {
    out = poisoned<T>(counts[r], c.seed + r);
    reduce_scatter_v(comm, own, out, counts, Op{}, c.algorithm);
  } else if (c.in_place) {
    std::vector<T> data = own;
    auto own = reduce_scatter(comm, data, Op{}, c.algorithm);
    CHECK(own.data() == data.data() + offsets[r]);
    out.assign(own.begin(), own.end());
  } else {
    out = poisoned<T>(counts[r], c.seed + r);
    reduce_scatter(comm, own, out, Op{}, c.algorithm);
  }
  const std::string wrong =
      Reference<T, Op>(inputs.blocks(offsets[r], counts[r]), 0, counts[r]).check(out);
  CHECK_MESSAGE(wrong.empty(), "rank " << r << ": " << wrong);
}

template <class T, class W>
void check_all_gather(W& w, const Case& c, bool v) {
  INFO(describe(c, name_of(data_type_of<T>)) << std::string(v ? " (v)" : ""));
  auto& comm = w.comm();
  const auto r = static_cast<std::size_t>(comm.rank());
  const auto counts = block_counts(c, v);
  const auto offsets = offsets_of(counts);
  const LazyInputs<T> inputs(c, [&](int k) { return counts[static_cast<std::size_t>(k)]; });
  const std::vector<T> own = inputs.of(comm.rank());
  std::vector<T> out = poisoned<T>(offsets.back(), c.seed + r);
  if (c.in_place) {  // own block already in place
    std::copy(own.begin(), own.end(), out.begin() + static_cast<std::ptrdiff_t>(offsets[r]));
    if (v)
      all_gather_v(comm, std::span(out).subspan(offsets[r], counts[r]), out, counts, c.algorithm);
    else
      all_gather(comm, out, c.algorithm);
  } else if (v) {
    all_gather_v(comm, own, out, counts, c.algorithm);
  } else {
    all_gather(comm, own, out, c.algorithm);
  }
  if (comm.rank() == c.root)
    CHECK_MESSAGE(same_bits<T>(out, concatenated(inputs.all())), "rank " << r);
  CHECK_MESSAGE(w.identical(std::as_bytes(std::span<const T>(out))),
                "results differ between ranks");
}

template <class T, class W>
void check_broadcast(W& w, const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>)));
  auto& comm = w.comm();
  const auto r = static_cast<std::size_t>(comm.rank());
  const LazyInputs<T> inputs(c, [&](int) { return c.count; });
  std::vector<T> data = inputs.of(comm.rank());
  broadcast(comm, data, c.root, c.algorithm);
  CHECK_MESSAGE(same_bits<T>(data, inputs.of(c.root)), "rank " << r);
}

template <class T, class Op, class W>
void check_reduce(W& w, const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name));
  auto& comm = w.comm();
  const auto r = static_cast<std::size_t>(comm.rank());
  const LazyInputs<T, Op> inputs(c, [&](int) { return c.count; });
  const std::vector<T> own = inputs.of(comm.rank());
  std::vector<T> out, untouched;
  if (c.in_place) {
    out = untouched = own;
    reduce(comm, out, c.root, Op{}, c.algorithm);
  } else {
    out = untouched = poisoned<T>(c.count, c.seed + r);
    reduce(comm, own, out, c.root, Op{}, c.algorithm);
  }
  if (comm.rank() == c.root) {
    const std::string wrong = Reference<T, Op>(inputs.all(), 0, c.count).check(out);
    CHECK_MESSAGE(wrong.empty(), wrong);
  } else {
    CHECK_MESSAGE(same_bits<T>(out, untouched), "non-root rank " << r << " buffer was written");
  }
}

template <class T, class W>
void check_scatter(W& w, const Case& c, bool v) {
  INFO(describe(c, name_of(data_type_of<T>)) << std::string(v ? " (v)" : ""));
  auto& comm = w.comm();
  const auto r = static_cast<std::size_t>(comm.rank());
  const bool root = comm.rank() == c.root;
  const auto counts = block_counts(c, v);
  const auto offsets = offsets_of(counts);
  const LazyInputs<T> source(c, [&](int) { return offsets.back(); });
  // The root scatters its whole buffer; the others need only the block they receive.
  const std::vector<T> root_data = root ? source.of(c.root) : std::vector<T>();
  const std::vector<T> expected = source.block(c.root, offsets[r], counts[r]);
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
  CHECK_MESSAGE(same_bits<T>(out, expected), "rank " << r);
}

template <class T, class W>
void check_gather(W& w, const Case& c, bool v) {
  INFO(describe(c, name_of(data_type_of<T>)) << std::string(v ? " (v)" : ""));
  auto& comm = w.comm();
  const auto r = static_cast<std::size_t>(comm.rank());
  const bool root = comm.rank() == c.root;
  const auto counts = block_counts(c, v);
  const auto offsets = offsets_of(counts);
  const LazyInputs<T> inputs(c, [&](int k) { return counts[static_cast<std::size_t>(k)]; });
  const std::vector<T> own = inputs.of(comm.rank());
  std::vector<T> out = poisoned<T>(root ? offsets.back() : 0, c.seed + r);
  if (root && c.in_place) {
    std::copy(own.begin(), own.end(), out.begin() + static_cast<std::ptrdiff_t>(offsets[r]));
    std::span<T> own = std::span(out).subspan(offsets[r], counts[r]);
    if (v)
      gather_v(comm, own, out, counts, c.root, c.algorithm);
    else
      gather(comm, own, out, c.root, c.algorithm);
  } else if (v) {
    gather_v(comm, own, out, counts, c.root, c.algorithm);
  } else {
    gather(comm, own, out, c.root, c.algorithm);
  }
  if (root) CHECK(same_bits<T>(out, concatenated(inputs.all())));
}

inline const std::vector<Algorithm> all_reduce_algorithms = {algo::ring, algo::tree, algo::direct,
                                                             algo::automatic};
inline const std::vector<Algorithm> reduce_scatter_algorithms = {algo::ring, algo::direct,
                                                                 algo::automatic};
inline const std::vector<Algorithm> all_gather_algorithms = {algo::ring, algo::direct,
                                                             algo::automatic};
inline const std::vector<Algorithm> rooted_algorithms = {algo::tree, algo::direct, algo::automatic};
inline const std::vector<Algorithm> direct_only = {algo::direct, algo::automatic};

// The suite in parts, one per test case of the programs that run it.

template <class W>
void all_reduce_part(W& w) {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_world_cases(w, 1, all_reduce_algorithms,
                      [&](const Case& c) { check_all_reduce<T, Op>(w, c); });
      Case large;
      if (world_large_case(w, k++, all_reduce_algorithms, 1, large))
        check_all_reduce<T, Op>(w, large);
    });
  });
}

template <class W>
void reduce_scatter_part(W& w) {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_world_cases(w, 2, reduce_scatter_algorithms, [&](const Case& c) {
        check_reduce_scatter<T, Op>(w, c, false);
        if (!c.in_place) check_reduce_scatter<T, Op>(w, c, true);
      });
      Case large;
      if (world_large_case(w, k++, reduce_scatter_algorithms, 2, large, true))
        check_reduce_scatter<T, Op>(w, large, false);
    });
  });
}

template <class W>
void all_gather_part(W& w) {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_world_cases(w, 3, all_gather_algorithms, [&](const Case& c) {
      check_all_gather<T>(w, c, false);
      check_all_gather<T>(w, c, true);
    });
    Case large;
    if (world_large_case(w, k++, all_gather_algorithms, 3, large, true))
      check_all_gather<T>(w, large, large.in_place);
  });
}

template <class W>
void broadcast_reduce_part(W& w) {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_world_cases(w, 4, rooted_algorithms, [&](const Case& c) {
      if (!c.in_place) check_broadcast<T>(w, c);
    });
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_world_cases(w, 5, rooted_algorithms, [&](const Case& c) { check_reduce<T, Op>(w, c); });
      Case large;
      if (world_large_case(w, k++, rooted_algorithms, 5, large)) {
        check_reduce<T, Op>(w, large);
        check_broadcast<T>(w, large);
      }
    });
  });
}

template <class W>
void scatter_gather_part(W& w) {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_world_cases(w, 6, direct_only, [&](const Case& c) {
      for (bool v : {false, true}) {
        check_scatter<T>(w, c, v);
        check_gather<T>(w, c, v);
      }
    });
    Case large;
    if (world_large_case(w, k++ * 4, direct_only, 6, large, true)) {
      check_scatter<T>(w, large, false);
      check_gather<T>(w, large, true);
    }
  });
}

// Nobody leaves a barrier before everybody arrived. Each rank in turn arrives late and leaves a
// file behind just before entering: every other rank must see that file when it leaves. (Files,
// not clocks: ranks on a shared core arrive staggered anyway, so times prove nothing.)
template <class W>
void barrier_part(W& w) {
  auto& comm = w.comm();
  const std::filesystem::path directory = w.shared_directory();
  for (int late = 0; late < comm.size(); ++late) {
    const auto marker = directory / ("arrived_" + std::to_string(late));
    if (comm.rank() == late) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      std::ofstream(marker) << late;
    }
    barrier(comm);
    CHECK_MESSAGE(std::filesystem::exists(marker),
                  "rank " << comm.rank() << " left before rank " << late << " arrived");
  }
  barrier(comm);
}

// User tags keep point-to-point messages apart; sizes are checked.
template <class W>
void send_recv_part(W& w) {
  auto& comm = w.comm();
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

// Sub-communicators from split and dup run collectives on their own.
template <class W>
void split_dup_part(W& w) {
  auto& comm = w.comm();
  auto halves = comm.split(comm.rank() % 2, -comm.rank());  // reversed order within each half
  const int expected_size = (comm.size() + 1 - comm.rank() % 2) / 2;
  CHECK(halves.size() == expected_size);
  CHECK(halves.rank() == (expected_size - 1 - comm.rank() / 2));
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

// The world seen through another communicator over the same ranks (a dup): the checks above run
// on it unchanged.
template <class W, class Comm>
struct OnCommunicator {
  W& world;
  Comm& communicator;
  int& rotation;
  Comm& comm() { return communicator; }
  bool identical(std::span<const std::byte> bytes) { return world.identical(bytes); }
  bool reduced() { return world.reduced(); }
};

// The two-level algorithms (algorithms/hierarchical.hpp) on a dup of the world that has learnt
// its nodes: the job's launcher sets COLT_RANKS_PER_NODE=2, so the ranks form emulated nodes (of
// equal sizes, or not: 3 ranks). Ranks on one node (1 or 2 of them) are left to
// collectives/hierarchical, which runs that case in-process.
template <class W>
void two_level_part(W& w) {
  auto twin = w.comm().dup();
  const int nodes = twin.nodes().nodes;
  REQUIRE_MESSAGE(nodes == (twin.size() + 1) / 2,
                  "expected nodes of 2 ranks: COLT_RANKS_PER_NODE=2");
  if (nodes < 2) return;
  OnCommunicator<W, std::remove_reference_t<decltype(twin)>> on_twin{w, twin, w.rotation};
  const std::vector<Algorithm> two_level = {algo::hierarchical, algo::node_leaders};
  const std::vector<Algorithm> rooted = {algo::hierarchical};
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_world_cases(on_twin, 12, rooted, [&](const Case& c) {
      check_broadcast<T>(on_twin, c);
      check_all_gather<T>(on_twin, c, false);
      check_all_gather<T>(on_twin, c, true);
    });
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_world_cases(on_twin, 13, rooted, [&](const Case& c) {
        check_reduce<T, Op>(on_twin, c);
        check_reduce_scatter<T, Op>(on_twin, c, false);
        if (!c.in_place) check_reduce_scatter<T, Op>(on_twin, c, true);
      });
      for_world_cases(on_twin, 11, two_level,
                      [&](const Case& c) { check_all_reduce<T, Op>(on_twin, c); });
      Case large;
      if (world_large_case(on_twin, k++, two_level, 11, large))
        check_all_reduce<T, Op>(on_twin, large);
    });
  });
}

// Started calls (core/request.hpp): several collectives outstanding at once give bit for bit the
// blocking results, and every rank exchanges messages with both neighbours, receives posted
// before the sends they wait for.
template <class W>
void started_part(W& w) {
  auto& comm = w.comm();
  const int p = comm.size(), r = comm.rank();
  const auto n = static_cast<std::size_t>(1009);
  std::mt19937_64 rng(base_seed() + 501 + static_cast<std::uint64_t>(r));
  const auto in = random_buffer<float>(rng, n * static_cast<std::size_t>(p));
  const std::span<const float> first(in.data(), n);
  std::vector<float> sum_out(n), all(n * static_cast<std::size_t>(p)),
      bcast(first.begin(), first.end()), max_out(n);
  {
    std::vector<Request> requests;
    requests.push_back(iall_reduce(comm, first, sum_out, sum{}));
    requests.push_back(iall_gather(comm, first, all));
    requests.push_back(ibroadcast(comm, bcast, p - 1));
    requests.push_back(ireduce(comm, first, max_out, 0, max{}));
    requests.push_back(ibarrier(comm));
    wait_all(requests);
  }
  std::vector<float> sum_ref(n), all_ref(all.size()), bcast_ref(first.begin(), first.end()),
      max_ref(n);
  all_reduce(comm, first, sum_ref, sum{});
  all_gather(comm, first, all_ref);
  broadcast(comm, bcast_ref, p - 1);
  reduce(comm, first, max_ref, 0, max{});
  CHECK(same_bits<float>(sum_out, sum_ref));
  CHECK(same_bits<float>(all, all_ref));
  CHECK(same_bits<float>(bcast, bcast_ref));
  if (r == 0) CHECK(same_bits<float>(max_out, max_ref));
  CHECK(w.identical(std::as_bytes(std::span<const float>(sum_out))));
  if (p < 2) return;
  // Ring exchange: receive from both neighbours first, then send to both.
  const int left = (r + p - 1) % p, right = (r + 1) % p;
  std::vector<double> from_left(311), from_right(313);
  const auto to_right = random_buffer<double>(rng, 311), to_left = random_buffer<double>(rng, 313);
  std::vector<Request> messages;
  messages.push_back(irecv(comm, from_left, left, 1));
  messages.push_back(irecv(comm, from_right, right, 2));
  messages.push_back(isend(comm, to_right, right, 1));
  messages.push_back(isend(comm, to_left, left, 2));
  wait_all(messages);
  // What the neighbours sent, drawn again from their seeds: (to their right, to their left).
  auto drawn_by = [&](int q) {
    std::mt19937_64 other(base_seed() + 501 + static_cast<std::uint64_t>(q));
    (void)random_buffer<float>(other, n * static_cast<std::size_t>(p));
    auto rightward = random_buffer<double>(other, 311);
    return std::pair(rightward, random_buffer<double>(other, 313));
  };
  CHECK(same_bits<double>(from_left, drawn_by(left).first));
  CHECK(same_bits<double>(from_right, drawn_by(right).second));
}

// all_to_all and all_to_all_v (and their started forms) against the reference: segment j of
// rank i's input is segment i of rank j's output. Every rank draws every rank's input from its
// seed, so it can check what it received without any other channel.
template <class W>
void all_to_all_part(W& w) {
  auto& comm = w.comm();
  const int p = comm.size(), r = comm.rank();
  auto input_of = [&](int q, std::size_t count) {
    std::mt19937_64 rng(base_seed() + 777 + static_cast<std::uint64_t>(q));
    return random_buffer<std::int64_t>(rng, count);
  };
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1009}}) {
    CAPTURE(n);
    const auto total = n * static_cast<std::size_t>(p);
    const auto in = input_of(r, total);
    std::vector<std::int64_t> out(total), started(total), expected(total);
    all_to_all(comm, in, out);
    iall_to_all(comm, in, started).wait();
    for (int q = 0; q < p; ++q) {
      const auto theirs = input_of(q, total);
      std::copy_n(theirs.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(r) * n), n,
                  expected.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(q) * n));
    }
    CHECK(out == expected);
    CHECK(started == expected);
  }
  // Uneven: rank i sends rank j (i + 2j) % 3 x 101 elements (some pairs none).
  auto share = [](int i, int j) { return static_cast<std::size_t>((i + 2 * j) % 3) * 101; };
  std::vector<std::size_t> sends, receives;
  for (int q = 0; q < p; ++q) {
    sends.push_back(share(r, q));
    receives.push_back(share(q, r));
  }
  std::size_t sent = 0, received = 0;
  for (int q = 0; q < p; ++q)
    sent += sends[static_cast<std::size_t>(q)], received += receives[static_cast<std::size_t>(q)];
  const auto in = input_of(r, sent);
  std::vector<std::int64_t> out(received), expected;
  all_to_all_v(comm, in, sends, out, receives);
  for (int q = 0; q < p; ++q) {
    std::size_t total_q = 0, offset = 0;
    for (int j = 0; j < p; ++j) {
      if (j < r) offset += share(q, j);
      total_q += share(q, j);
    }
    const auto theirs = input_of(q, total_q);
    expected.insert(expected.end(), theirs.begin() + static_cast<std::ptrdiff_t>(offset),
                    theirs.begin() + static_cast<std::ptrdiff_t>(offset + share(q, r)));
  }
  CHECK(out == expected);
}

}  // namespace colt::test::suite
