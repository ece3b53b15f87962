// The simulated transport (transport/sim.hpp): its cost model priced as sim/network.hpp says, a
// deadlocked job failing on every rank, and colt's collectives over it, from the small matrix
// (one type per element size, every op, ranks 1..8 on nodes of 2) to 1,024 ranks, against the
// plain reference and bitwise identical on every rank.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "colt/transport/sim.hpp"
#include "errors.hpp"
#include "matrix.hpp"
#include "ranks.hpp"
#include "reference.hpp"

using namespace colt;
using namespace colt::test;

namespace {

// Every algorithm a call of `kind` may name over the simulator: all but shared slots (an
// in-process capability), the two-level ones included, then automatic.
std::vector<Algorithm> simulated_algorithms(CollectiveKind kind) {
  std::vector<Algorithm> algorithms;
  for (const Capability& c : record_of(kind).algorithms)
    if (c.needs != Needs::host_slots) algorithms.push_back(c.algorithm);
  algorithms.push_back(Algorithm::automatic);
  return algorithms;
}

// Whether a case of `algorithm` runs the collective `kind` (the cases run each collective with
// every algorithm it supports).
bool runs(CollectiveKind kind, Algorithm algorithm) {
  return algorithm == Algorithm::automatic || supports(kind, algorithm);
}

bool near(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b)); }

// The four collectives of one case on `cluster`, each rank's results kept for the checks after
// the job: all_reduce (in place or not), reduce_scatter, all_gather, broadcast from c.root.
template <class T, class Op>
struct Results {
  std::vector<std::vector<T>> inputs, reduced, scattered, gathered, broadcast;
};

template <class T, class Op>
void run_case(sim::Communicator& comm, const Case& c, Results<T, Op>& out) {
  const auto r = static_cast<std::size_t>(comm.rank());
  const auto p = static_cast<std::size_t>(comm.size());
  const std::vector<T>& in = out.inputs[r];
  auto wants = [&](CollectiveKind kind) { return runs(kind, c.algorithm); };
  if (wants(CollectiveKind::all_reduce)) {
    std::vector<T>& reduced = out.reduced[r];
    if (c.in_place) {
      reduced = in;
      all_reduce(comm, reduced, Op{}, c.algorithm);
    } else {
      reduced = poisoned<T>(in.size(), c.seed + r);
      all_reduce(comm, in, reduced, Op{}, c.algorithm);
    }
  }
  if (wants(CollectiveKind::reduce_scatter)) {
    out.scattered[r] = poisoned<T>(c.count, c.seed + 2 * r);
    reduce_scatter(comm, in, out.scattered[r], Op{}, c.algorithm);
  }
  if (wants(CollectiveKind::all_gather)) {
    out.gathered[r] = poisoned<T>(c.count * p, c.seed + 3 * r);
    all_gather(comm, std::span<const T>(in).first(c.count), out.gathered[r], c.algorithm);
  }
  if (wants(CollectiveKind::broadcast)) {
    out.broadcast[r] = comm.rank() == c.root ? in : poisoned<T>(in.size(), c.seed + 4 * r);
    broadcast(comm, out.broadcast[r], c.root, c.algorithm);
  }
}

template <class T, class Op>
Results<T, Op> prepared(const Case& c) {
  Results<T, Op> out;
  out.inputs =
      random_inputs<T, Op>(c, [&](int) { return c.count * static_cast<std::size_t>(c.ranks); });
  for (auto* v : {&out.reduced, &out.scattered, &out.gathered, &out.broadcast})
    v->resize(static_cast<std::size_t>(c.ranks));
  return out;
}

template <class T, class Op>
void check_results(const Case& c, const Results<T, Op>& out) {
  const auto p = static_cast<std::size_t>(c.ranks);
  if (runs(CollectiveKind::all_reduce, c.algorithm)) {
    const Reference<T, Op> whole(out.inputs, 0, c.count * p);
    const std::string wrong = whole.check(out.reduced[0]);
    CHECK_MESSAGE(wrong.empty(), "all_reduce: " << wrong);
    for (std::size_t r = 1; r < p; ++r)
      CHECK_MESSAGE(same_bits<T>(out.reduced[r], out.reduced[0]), "all_reduce rank " << r);
  }
  std::vector<T> concatenated;
  for (const auto& in : out.inputs)
    concatenated.insert(concatenated.end(), in.begin(),
                        in.begin() + static_cast<std::ptrdiff_t>(c.count));
  for (std::size_t r = 0; r < p; ++r) {
    if (runs(CollectiveKind::reduce_scatter, c.algorithm)) {
      const std::string wrong =
          Reference<T, Op>(out.inputs, r * c.count, c.count).check(out.scattered[r]);
      CHECK_MESSAGE(wrong.empty(), "reduce_scatter rank " << r << ": " << wrong);
    }
    if (runs(CollectiveKind::all_gather, c.algorithm))
      CHECK_MESSAGE(same_bits<T>(out.gathered[r], concatenated), "all_gather rank " << r);
    if (runs(CollectiveKind::broadcast, c.algorithm))
      CHECK_MESSAGE(same_bits<T>(out.broadcast[r], out.inputs[static_cast<std::size_t>(c.root)]),
                    "broadcast rank " << r);
  }
}

}  // namespace

TEST_CASE("sim network: alpha per message, beta per byte, a node's link shared by its ranks") {
  const sim::Cluster cluster{.ranks = 4, .per_node = 2};
  std::vector<double> across(4), within(4);
  const std::size_t n = 1 << 20;
  const sim::Report report = sim::run(cluster, [&](sim::Communicator& comm) {
    std::vector<float> data(n / sizeof(float));
    const auto r = static_cast<std::size_t>(comm.rank());
    sim::start_together(comm);
    // Ranks 0 and 1 (node 0) each send n bytes across to ranks 2 and 3 (node 1) at once; then
    // rank 2 sends n bytes to rank 3, on their node.
    if (r < 2) send(comm, data, comm.rank() + 2);
    if (r >= 2) recv(comm, data, comm.rank() - 2);
    across[r] = comm.transport().now();
    if (r == 2) send(comm, data, 3);
    if (r == 3) recv(comm, data, 2);
    within[r] = comm.transport().now();
  });
  const double wire = static_cast<double>(n) * cluster.across.beta;
  // One message at a time on node 0's link: the first takes alpha + wire, the second waits for
  // it. Rank 3's receive port is then busy until the second one's end, so rank 2's message to it
  // (sent at alpha + wire, after alpha within the node) goes through after it.
  CHECK(near(across[2], cluster.across.alpha + wire));
  CHECK(near(across[3], cluster.across.alpha + 2 * wire));
  CHECK(near(within[3],
             cluster.across.alpha + 2 * wire + static_cast<double>(n) * cluster.within.beta));
  CHECK(near(within[2], within[3]));  // the send completes as the receive does
  CHECK(report.bytes_out_of[0] == 2 * n);
  CHECK(report.bytes_out_of[1] == 0);
  CHECK(report.messages == 3);
}

TEST_CASE(
    "sim network: ring all_reduce on one node takes 2(p-1)(alpha + n/p beta); the "
    "two-level one sends 2(N-1)/N of the buffer out of each node") {
  const std::size_t count = 1 << 16;  // floats, a multiple of every p here
  for (int p : {2, 4, 8}) {
    INFO("p=" << p);
    const sim::Cluster one_node{.ranks = p, .per_node = p};
    double took = 0;
    sim::run(one_node, [&](sim::Communicator& comm) {
      std::vector<float> data(count, 1.0f);
      const double start = sim::start_together(comm);
      all_reduce(comm, data, sum{}, algo::ring);
      took = sim::start_together(comm) - start;
    });
    const double block = static_cast<double>(count * sizeof(float)) / p;
    const sim::Link& w = one_node.within;
    CHECK(near(took, 2.0 * (p - 1) * (w.alpha + block * w.beta)));
  }
  // 4 nodes of 2: through each node's link, the flat ring sends 2(p-1)/p n (one ring edge
  // leaves each node) and the hierarchical all_reduce 2(N-1)/N n.
  const sim::Cluster cluster{.ranks = 8, .per_node = 2};
  for (Algorithm a : {algo::ring, algo::hierarchical}) {
    INFO(name_of(a));
    std::uint64_t before = 0;
    const sim::Report report = sim::run(cluster, [&](sim::Communicator& comm) {
      comm.nodes();
      std::vector<float> data(count, 1.0f);
      sim::start_together(comm);
      if (comm.rank() == 0) before = comm.transport().network().bytes_out_of_nodes()[0];
      all_reduce(comm, data, sum{}, a);
      CHECK(data[count - 1] == 8.0f);
    });
    const double n = static_cast<double>(count * sizeof(float));
    const double expected = a == algo::ring ? 2.0 * 7 / 8 * n : 2.0 * 3 / 4 * n;
    CHECK(static_cast<double>(report.bytes_out_of[0] - before) == expected);
  }
}

TEST_CASE(
    "sim: a deadlocked job fails on every waiting rank, at once; a message too large for "
    "its buffer is a mismatch") {
  std::vector<std::optional<ErrorKind>> kinds(3);
  std::vector<std::string> texts(3);
  sim::run(sim::Cluster{.ranks = 3}, [&](sim::Communicator& comm) {
    std::vector<float> data(4);
    try {
      if (comm.rank() < 2) recv(comm, data, 1 - comm.rank());  // each waits for the other
    } catch (const Error& e) {
      kinds[static_cast<std::size_t>(comm.rank())] = e.kind();
      texts[static_cast<std::size_t>(comm.rank())] = e.what();
    }
  });
  for (int r : {0, 1}) {
    CHECK(kinds[static_cast<std::size_t>(r)] == ErrorKind::timeout);
    CHECK(texts[static_cast<std::size_t>(r)].find("deadlocked") != std::string::npos);
  }
  CHECK(!kinds[2]);
  std::optional<ErrorKind> too_large;
  sim::run(sim::Cluster{.ranks = 2}, [&](sim::Communicator& comm) {
    std::vector<float> data(comm.rank() == 0 ? 8 : 4);
    if (comm.rank() == 0) send(comm, data, 1);
    if (comm.rank() == 1) too_large = error_kind([&] { recv(comm, data, 0); });
  });
  CHECK(too_large == ErrorKind::mismatch);
}

TEST_CASE("sim: every collective and algorithm, one type per size x op, ranks 1..8 on nodes of 2") {
  for_each(per_size_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_small_cases(21, simulated_algorithms(CollectiveKind::all_reduce), [&](const Case& c) {
        INFO(describe(c, name_of(data_type_of<T>), Op::name));
        Results<T, Op> results = prepared<T, Op>(c);
        sim::run(sim::Cluster{.ranks = c.ranks, .per_node = 2}, [&](sim::Communicator& comm) {
          comm.nodes();
          run_case<T, Op>(comm, c, results);
        });
        check_results<T, Op>(c, results);
      });
    });
  });
}

// At scale: float sums (the small matrix has the other types and ops), each shape's cases in one
// job: 31 and 97 ranks (primes; their last nodes have 3 and 1 ranks, where hierarchical runs as
// node_leaders) and 1,024 on nodes of 8, with counts a rank below and above one element.
TEST_CASE(
    "sim at scale: all_reduce, reduce_scatter, all_gather, broadcast, every algorithm, to "
    "1,024 ranks") {
  struct Shape {
    int ranks, per_node;
  };
  for (const Shape shape : {Shape{31, 4}, Shape{97, 8}, Shape{1024, 8}}) {
    INFO("ranks=" << shape.ranks << " per_node=" << shape.per_node);
    std::vector<Case> cases;
    std::vector<Results<float, sum>> results;
    std::uint64_t seed = base_seed() + static_cast<std::uint64_t>(shape.ranks);
    // Below 1,000 ranks two counts (one element a rank, and a few); above, one (the job's
    // messages grow with p^2 for ring and direct: about 10 million at 1,024).
    const std::vector<std::size_t> counts =
        shape.ranks < 1000 ? std::vector<std::size_t>{1, 5} : std::vector<std::size_t>{3};
    for (const std::size_t count : counts) {
      for (Algorithm a : simulated_algorithms(CollectiveKind::all_reduce)) {
        Case c{shape.ranks, count, count == 1, a, static_cast<int>(seed % 1000) % shape.ranks,
               seed++};
        cases.push_back(c);
        results.push_back(prepared<float, sum>(c));
      }
    }
    sim::run(sim::Cluster{.ranks = shape.ranks, .per_node = shape.per_node},
             [&](sim::Communicator& comm) {
               comm.nodes();
               for (std::size_t k = 0; k < cases.size(); ++k)
                 run_case<float, sum>(comm, cases[k], results[k]);
             });
    for (std::size_t k = 0; k < cases.size(); ++k) {
      INFO(describe(cases[k], "float", "sum"));
      check_results<float, sum>(cases[k], results[k]);
    }
  }
}
