// Started (non-blocking) calls: each gives bit for bit what its blocking form gives, several may
// be outstanding at once and match across ranks in start order, blocking calls keep their place
// behind them, errors surface at wait() with the blocking call's kind, and a started call
// progresses while its rank does something else entirely.
#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/barrier.hpp"
#include "colt/collectives/broadcast.hpp"
#include "colt/collectives/gather.hpp"
#include "colt/collectives/reduce.hpp"
#include "colt/collectives/reduce_scatter.hpp"
#include "colt/collectives/scatter.hpp"
#include "colt/collectives/send_recv.hpp"
#include "colt/transport/inprocess.hpp"
#include "errors.hpp"
#include "random.hpp"

using namespace colt;
using colt::test::error_kind;

namespace {

// Every rank's inputs, drawn from one seed so that all ranks agree on them.
std::vector<std::vector<float>> inputs_for(int ranks, std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<float>> all;
  for (int r = 0; r < ranks; ++r) all.push_back(test::random_buffer<float>(rng, count));
  return all;
}

template <class T>
bool same(const std::vector<T>& a, const std::vector<T>& b) {
  return test::same_bits<T>(std::span<const T>(a), std::span<const T>(b));
}

// One rank's outputs of every collective, started or blocking.
struct Outputs {
  std::vector<float> all_reduce, in_place, reduce_scatter, reduce_scatter_v, all_gather,
      all_gather_v, broadcast, reduce, scatter, scatter_v, gather, gather_v;
};

Outputs sized(std::size_t n, int p) {
  const auto all = n * static_cast<std::size_t>(p);
  return {std::vector<float>(n),
          {},
          std::vector<float>(n / static_cast<std::size_t>(p)),
          std::vector<float>(n),
          std::vector<float>(all),
          std::vector<float>(all),
          std::vector<float>(n),
          std::vector<float>(n),
          std::vector<float>(n),
          std::vector<float>(n),
          std::vector<float>(all),
          std::vector<float>(all)};
}

}  // namespace

TEST_CASE("started collectives: all at once, bit for bit the blocking results") {
  for (int p = 1; p <= 5; ++p) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1009}}) {
      const std::uint64_t seed = test::base_seed() + static_cast<std::uint64_t>(p) * 131 + n;
      CAPTURE(p);
      CAPTURE(n);
      CAPTURE(seed);
      const auto inputs = inputs_for(p, (n + 5) * static_cast<std::size_t>(p), seed);
      // Per-rank counts of the v forms: uneven, one rank with none.
      std::vector<std::size_t> counts(static_cast<std::size_t>(p));
      for (int r = 0; r < p; ++r) counts[static_cast<std::size_t>(r)] = r == 1 ? 0 : n + r;
      std::size_t counts_total = 0;
      for (auto c : counts) counts_total += c;
      const int root = p - 1;
      inprocess::launch(p, [&](inprocess::Communicator& comm) {
        const auto r = static_cast<std::size_t>(comm.rank());
        const std::vector<float>& in = inputs[r];
        const std::span<const float> first(in.data(), n);  // n of this rank's values
        const std::span<const float> mine_v(in.data(), counts[r]);
        auto run = [&](bool started) {
          Outputs o = sized(n, p);
          o.in_place.assign(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
          o.reduce_scatter_v.resize(counts[r]);
          o.all_gather_v.resize(counts_total);
          o.scatter_v.resize(counts[r]);
          o.gather_v.resize(counts_total);
          o.broadcast.assign(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
          const auto ranks = static_cast<std::size_t>(p);
          const std::span<const float> rs_in(in.data(), (n / ranks) * ranks);
          const std::span<const float> scatter_in(in.data(), n * ranks);
          const std::span<const float> v_in(in.data(), counts_total);
          if (started) {
            std::vector<Request> requests;
            requests.push_back(iall_reduce(comm, first, o.all_reduce, sum{}));
            requests.push_back(iall_reduce(comm, o.in_place, max{}));
            requests.push_back(ireduce_scatter(comm, rs_in, o.reduce_scatter, sum{}));
            requests.push_back(ibarrier(comm));
            requests.push_back(ireduce_scatter_v(comm, v_in, o.reduce_scatter_v, counts, sum{}));
            requests.push_back(iall_gather(comm, first, o.all_gather));
            requests.push_back(iall_gather_v(comm, mine_v, o.all_gather_v, counts));
            requests.push_back(ibroadcast(comm, o.broadcast, root));
            requests.push_back(ireduce(comm, first, o.reduce, root, prod{}));
            requests.push_back(iscatter(comm, scatter_in, o.scatter, root));
            requests.push_back(iscatter_v(comm, v_in, o.scatter_v, counts, root));
            requests.push_back(igather(comm, first, o.gather, root));
            requests.push_back(igather_v(comm, mine_v, o.gather_v, counts, root));
            wait_all(requests);
            for (const Request& request : requests) CHECK_FALSE(request.valid());
          } else {
            all_reduce(comm, first, o.all_reduce, sum{});
            all_reduce(comm, o.in_place, max{});
            reduce_scatter(comm, rs_in, o.reduce_scatter, sum{});
            barrier(comm);
            reduce_scatter_v(comm, v_in, o.reduce_scatter_v, counts, sum{});
            all_gather(comm, first, o.all_gather);
            all_gather_v(comm, mine_v, o.all_gather_v, counts);
            broadcast(comm, o.broadcast, root);
            reduce(comm, first, o.reduce, root, prod{});
            scatter(comm, scatter_in, o.scatter, root);
            scatter_v(comm, v_in, o.scatter_v, counts, root);
            gather(comm, first, o.gather, root);
            gather_v(comm, mine_v, o.gather_v, counts, root);
          }
          return o;
        };
        const Outputs started = run(true);
        const Outputs blocking = run(false);
        CHECK(same(started.all_reduce, blocking.all_reduce));
        CHECK(same(started.in_place, blocking.in_place));
        CHECK(same(started.reduce_scatter, blocking.reduce_scatter));
        CHECK(same(started.reduce_scatter_v, blocking.reduce_scatter_v));
        CHECK(same(started.all_gather, blocking.all_gather));
        CHECK(same(started.all_gather_v, blocking.all_gather_v));
        CHECK(same(started.broadcast, blocking.broadcast));
        CHECK(same(started.scatter, blocking.scatter));
        CHECK(same(started.scatter_v, blocking.scatter_v));
        if (comm.rank() == root) {
          CHECK(same(started.reduce, blocking.reduce));
          CHECK(same(started.gather, blocking.gather));
          CHECK(same(started.gather_v, blocking.gather_v));
        }
        // A plain reference for one of them: the sum, folded in rank order by every rank.
        if (n > 0 && p <= 2) {
          std::vector<float> expected(n, 0.0f);
          for (int q = 0; q < p; ++q)
            for (std::size_t i = 0; i < n; ++i)
              expected[i] += inputs[static_cast<std::size_t>(q)][i];
          CHECK(same(started.all_reduce, expected));
        }
      });
    }
  }
}

TEST_CASE("started and blocking calls keep start order; a request may be waited on late") {
  const auto inputs = inputs_for(3, 4099, test::base_seed() + 7);
  inprocess::launch(3, [&](inprocess::Communicator& comm) {
    const auto& in = inputs[static_cast<std::size_t>(comm.rank())];
    std::vector<double> wide(in.begin(), in.end());
    std::vector<float> a(in.size()), b(in.size()), a_ref(in.size()), b_ref(in.size());
    Request first = iall_reduce(comm, in, a, sum{});
    all_reduce(comm, in, b, max{});  // runs after `first`, on every rank
    Request third = iall_reduce(comm, wide, sum{});
    third.wait();
    first.wait();
    all_reduce(comm, in, a_ref, sum{});
    all_reduce(comm, in, b_ref, max{});
    CHECK(same(a, a_ref));
    CHECK(same(b, b_ref));
    CHECK(comm.calls() == 5);
  });
}

TEST_CASE("isend/irecv: every rank receives first, then sends; tags keep streams apart") {
  std::mt19937_64 rng(test::base_seed() + 11);
  const int p = 4;
  std::vector<std::vector<double>> messages;
  for (int i = 0; i < 2 * p * p; ++i) messages.push_back(test::random_buffer<double>(rng, 257 + i));
  auto message = [&](int from, int to, int tag) -> const std::vector<double>& {
    return messages[static_cast<std::size_t>((from * p + to) * 2 + tag)];
  };
  inprocess::launch(p, [&](inprocess::Communicator& comm) {
    const int r = comm.rank();
    std::vector<std::vector<double>> got;
    std::vector<Request> requests;
    got.reserve(static_cast<std::size_t>(2 * p));
    for (int peer = 0; peer < p; ++peer)
      for (int tag : {1, 0}) {  // posted in the other order than sent: tags must tell them apart
        if (peer == r) continue;
        got.emplace_back(message(peer, r, tag).size());
        requests.push_back(irecv(comm, got.back(), peer, tag));
      }
    for (int peer = 0; peer < p; ++peer)
      for (int tag : {0, 1})
        if (peer != r) requests.push_back(isend(comm, message(r, peer, tag), peer, tag));
    wait_all(requests);
    std::size_t k = 0;
    for (int peer = 0; peer < p; ++peer)
      for (int tag : {1, 0})
        if (peer != r) CHECK(same(got[k++], message(peer, r, tag)));
  });
}

TEST_CASE("started calls: errors at wait, with the blocking call's kind") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    std::vector<float> in(8, 1.0f), out(7);
    Request bad = iall_reduce(comm, in, out, sum{});  // rejected on this rank, before any traffic
    CHECK(error_kind([&] { bad.wait(); }) == ErrorKind::invalid_argument);
    CHECK_FALSE(bad.valid());
    CHECK(error_kind([&] { iscatter(comm, in, out, 5).wait(); }) == ErrorKind::invalid_argument);
    std::vector<int> data(3);
    CHECK(error_kind([&] { isend(comm, data, 1 - comm.rank(), 70000).wait(); }) ==
          ErrorKind::invalid_argument);
    CHECK_FALSE(comm.broken());  // nothing moved: the communicator is still usable
    all_reduce(comm, in, sum{});
    CHECK(in[0] == 2.0f);
  });
  CHECK(error_kind([&] {
          inprocess::launch(2, [&](inprocess::Communicator& comm) {
            std::vector<int> five(5, 3), six(6);
            if (comm.rank() == 0)
              isend(comm, five, 1).wait();
            else
              irecv(comm, six, 0).wait();
          });
        }) == ErrorKind::mismatch);
}

TEST_CASE("started calls: progress while the rank sleeps; a dropped request waits") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    std::vector<float> data(1024, static_cast<float>(comm.rank() + 1));
    Request request = iall_reduce(comm, data, sum{});
    // No colt call and no poll on this rank meanwhile: the progress engine finishes the call.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(request.test());
    CHECK(data[0] == 3.0f);
    {
      Request dropped = iall_reduce(comm, data, sum{});
    }  // waits for the call: `data` is safe to read
    CHECK(data[1023] == 6.0f);
    Request moved = iall_reduce(comm, data, sum{});
    moved = iall_reduce(comm, data, sum{});  // assigning over a request waits for it first
    CHECK(moved.wait_for(std::chrono::seconds(30)));
    CHECK(data[0] == 24.0f);
  });
}
