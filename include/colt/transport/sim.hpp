#pragma once
// The simulated transport: colt's own collective code, run for p ranks (to 1,024 and beyond) in
// one thread, on a machine that exists only as a cost model (sim/network.hpp: N nodes of M
// ranks, alpha and beta within a node and across nodes, each node's link shared by its ranks).
// Every rank is a fiber (sim/fibers.hpp) with a virtual clock; a message moves the clocks as the
// model prices it. What it is for: correctness at rank counts no machine here can run, and the
// time each algorithm would take on a cluster no one here has (benchmarks/simulate, and the
// checks of plan()'s choices in tests/transport/test_sim.cpp).
//
//   sim::Cluster cluster{.ranks = 1024, .per_node = 8};  // 128 nodes
//   sim::Report report = sim::run(cluster, [&](sim::Communicator& comm) {
//     comm.nodes();                        // the two-level algorithms need the node map
//     const double start = sim::start_together(comm);
//     all_reduce(comm, data, sum{});
//     ...
//   });
//
// Time is virtual and only messages take it: the reductions between them cost nothing here.
// Deadlines do not apply; a job whose ranks all wait for messages no one sends fails at once with
// colt::Error (timeout) on every waiting rank.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <utility>
#include <vector>

#include "colt/core/communicator.hpp"
#include "colt/core/detail/check_peer.hpp"
#include "colt/core/settings.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/transport/sim/fibers.hpp"
#include "colt/transport/sim/network.hpp"

namespace colt::sim {

// A send (complete at its finish time) or a receive (complete once its message has arrived).
class Request {
 public:
  Request() = default;
  static Request sent(detail::Network& network, double finish) {
    Request r;
    r.network_ = &network;
    r.finish_ = finish;
    return r;
  }
  static Request receive(detail::Network& network, int from, int to, Tag tag,
                         std::span<std::byte> buffer) {
    Request r;
    r.network_ = &network;
    r.receiving_ = true;
    r.from_ = from;
    r.to_ = to;
    r.tag_ = tag;
    r.buffer_ = buffer;
    r.ticket_ = network.post_receive(from, to, tag);
    return r;
  }

  // The clock moves to the message's finish; a receive first waits for its message to be sent.
  std::size_t wait(const Deadline&) {
    if (!network_) return 0;
    if (!receiving_) {
      network_->fibers().advance_to(finish_);
      network_ = nullptr;
      return 0;
    }
    detail::Network& network = *std::exchange(network_, nullptr);
    return network.receive(from_, to_, tag_, ticket_, buffer_);
  }
  // Whether wait() would not move the clock. It never advances time itself: poll with wait().
  bool test() const {
    if (!network_) return true;
    if (!receiving_) return finish_ <= network_->fibers().now();
    return network_->arrived(from_, to_, tag_, ticket_);
  }

 private:
  detail::Network* network_ = nullptr;  // null: done (or empty)
  bool receiving_ = false;
  double finish_ = 0;
  int from_ = 0, to_ = 0;
  Tag tag_{};
  std::span<std::byte> buffer_{};
  std::uint64_t ticket_ = 0;
};

class Transport {
 public:
  Transport(detail::Network& network, int rank) : network_(&network), rank_(rank) {}

  int rank() const { return rank_; }
  int size() const { return network_->cluster().ranks; }
  Request isend(int peer, std::span<const std::byte> data, Tag tag) {
    colt::detail::check_peer(Operation::unnamed, rank_, peer, size());
    return Request::sent(*network_, network_->send(rank_, peer, data, tag));
  }
  Request irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    colt::detail::check_peer(Operation::unnamed, rank_, peer, size());
    return Request::receive(*network_, peer, rank_, tag, buffer);
  }

  // This rank's virtual clock, in seconds since the job began.
  double now() const { return network_->fibers().now(); }
  detail::Network& network() { return *network_; }

 private:
  detail::Network* network_;
  int rank_;
};

static_assert(colt::Transport<Transport>);

using Communicator = colt::Communicator<Transport>;

// Waits, at no cost in virtual time, until every rank of the job has called it, then sets every
// clock to the latest of them and returns it: the start of a timed call, with all ranks starting
// together.
inline double start_together(Communicator& comm) {
  detail::Fibers& fibers = comm.transport().network().fibers();
  return fibers.gather_clocks();
}

// What a simulated job did.
struct Report {
  double seconds = 0;                       // the latest rank's clock when the job ended
  std::vector<std::uint64_t> bytes_out_of;  // per node: bytes sent to other nodes
  std::uint64_t messages = 0;
};

// Runs fn(comm) on every rank of `cluster`, each a fiber with a communicator of its own (made
// with `options`; ranks_per_node set to the cluster's, so nodes() finds its nodes). Rethrows the
// exception of the rank that failed first, if any did: the others may only have lost a peer.
template <class Fn>
Report run(const Cluster& cluster, Fn&& fn, CommunicatorOptions options = {}) {
  options.ranks_per_node = static_cast<std::size_t>(cluster.per_node);
  Report report;
  std::vector<double> ends(static_cast<std::size_t>(cluster.ranks));
  detail::Network* network_of_job = nullptr;
  detail::Fibers fibers(cluster.ranks, [&](int rank) {
    Communicator comm(Transport(*network_of_job, rank), options);
    fn(comm);
    ends[static_cast<std::size_t>(rank)] = network_of_job->fibers().now();
  });
  detail::Network network(cluster, fibers);
  network_of_job = &network;
  fibers.run();
  if (fibers.first_failed() >= 0) std::rethrow_exception(fibers.error(fibers.first_failed()));
  for (double end : ends) report.seconds = std::max(report.seconds, end);
  report.bytes_out_of = network.bytes_out_of_nodes();
  report.messages = network.messages();
  return report;
}

}  // namespace colt::sim
