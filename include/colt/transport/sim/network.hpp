#pragma once
// The simulated machine (transport/sim.hpp): p ranks on nodes of M, and what a message costs.
//
// A message of b bytes from rank s to rank r, sent when s's clock reads t:
//   start  = max(t, when s's earlier sends finish)   one send port a rank: its sends queue
//   wire   = start + alpha                           the per-message cost (software, handshake)
//   wire  >= the first time r's receive port, and   each busy b beta from `wire`; a message
//            across nodes s's node's link out and   fits into the first gap all of them share,
//            r's node's link in, are free for b beta so traffic that starts earlier in virtual
//                                                    time is never queued behind later traffic
//   finish = wire + b beta
// The send completes at `finish` and the receive at max(its wait's clock, finish). alpha and
// beta are a level's: `within` a node or `across` nodes. So a rank that sends to many pays alpha
// for each message in turn, a rank that many send to takes their bytes one message at a time,
// and the M ranks of a node share its link both ways: what two_level.hpp's cost model assumes.
//
// Matching follows colt's ordering contract: between one pair, messages with one tag match in
// posting order. With `payload` off, messages above 4 KiB carry their sizes only and their
// receives leave the buffers unwritten: timing at sizes whose contents the simulation could not
// hold. Smaller ones still carry their bytes: some of colt's steps read what a peer sent them
// (a two-level all_reduce deadlocks when they read nothing).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "colt/core/detail/describe_message.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/transport/sim/channels.hpp"
#include "colt/transport/sim/fibers.hpp"

namespace colt::sim {

// One level of the machine: seconds per message and seconds per byte.
struct Link {
  double alpha = 0;
  double beta = 0;
};

// p ranks, `per_node` to a node in rank order (the last node has fewer where per_node does not
// divide p): N = ceil(p / per_node) nodes.
struct Cluster {
  int ranks = 1;
  int per_node = 1;
  // Shared memory: 1 us a message, 10 GB/s a rank.
  Link within{.alpha = 1e-6, .beta = 1e-10};
  // A node's link to the others, shared by its ranks: 10 Gbit/s TCP, plan()'s default network
  // (algorithms/tuning.hpp).
  Link across{.alpha = 2e-5, .beta = 8e-10};
  bool payload = true;
  static constexpr std::size_t always_carried = 4096;  // bytes a message carries without payload
  int nodes() const { return (ranks + per_node - 1) / per_node; }
  int node_of(int rank) const { return rank / per_node; }
};

namespace detail {

// When a port or link is busy: disjoint intervals [begin, end) of virtual time in order, those
// that end before every clock dropped. A sorted vector, not a tree: reservations come mostly in
// time order, so most go at the end, and the search is a binary one over contiguous memory.
class Timeline {
 public:
  // The first time at or after `from` at which the timeline is free for `length` seconds.
  double fit(double from, double length) const {
    auto next = first_ending_after(from);
    if (next != busy_.end() && next->begin <= from) from = next->end, ++next;
    for (; next != busy_.end() && next->begin < from + length; ++next) from = next->end;
    return from;
  }
  // Marks [begin, end) busy; it must be free (fit() found it).
  void reserve(double begin, double end) {
    if (end <= begin) return;
    auto at = first_ending_after(begin);  // the first interval after the new one
    const bool joins_before =
        at != busy_.begin() + static_cast<std::ptrdiff_t>(head_) && std::prev(at)->end == begin;
    const bool joins_after = at != busy_.end() && at->begin == end;
    if (joins_before && joins_after) {
      std::prev(at)->end = at->end;
      busy_.erase(at);
    } else if (joins_before) {
      std::prev(at)->end = end;
    } else if (joins_after) {
      at->begin = begin;
    } else {
      busy_.insert(at, {begin, end});
    }
  }
  // Drops the intervals that ended before `t`, when no message can start any more.
  void forget_before(double t) {
    while (head_ < busy_.size() && busy_[head_].end < t) ++head_;
    if (head_ > 64 && head_ * 2 > busy_.size()) {
      busy_.erase(busy_.begin(), busy_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

 private:
  struct Interval {
    double begin, end;
  };
  std::vector<Interval>::const_iterator first_ending_after(double t) const {
    return std::upper_bound(busy_.begin() + static_cast<std::ptrdiff_t>(head_), busy_.end(), t,
                            [](double x, const Interval& i) { return x < i.end; });
  }
  std::vector<Interval>::iterator first_ending_after(double t) {
    return std::upper_bound(busy_.begin() + static_cast<std::ptrdiff_t>(head_), busy_.end(), t,
                            [](double x, const Interval& i) { return x < i.end; });
  }

  std::vector<Interval> busy_;
  std::size_t head_ = 0;  // busy_[0, head_) ended before every clock
};

class Network {
 public:
  Network(const Cluster& cluster, Fibers& fibers)
      : cluster_(cluster),
        fibers_(fibers),
        send_port_(static_cast<std::size_t>(cluster.ranks)),
        receive_port_(send_port_.size()),
        link_out_(static_cast<std::size_t>(cluster.nodes())),
        link_in_(link_out_.size()),
        bytes_out_(link_out_.size()) {}

  const Cluster& cluster() const { return cluster_; }
  Fibers& fibers() { return fibers_; }
  // Bytes that left each node for another, and messages sent, since the start.
  const std::vector<std::uint64_t>& bytes_out_of_nodes() const { return bytes_out_; }
  std::uint64_t messages() const { return messages_; }

  // Posts a send from the current fiber's rank; returns when it finishes, in virtual time.
  double send(int from, int to, std::span<const std::byte> data, Tag tag) {
    fibers_.yield();  // every earlier send is priced first
    const double t = fibers_.now();
    const bool across = cluster_.node_of(from) != cluster_.node_of(to);
    const Link& link = across ? cluster_.across : cluster_.within;
    const double length = static_cast<double>(data.size()) * link.beta;
    double& sender = send_port_[static_cast<std::size_t>(from)];
    double wire = std::max(t, sender) + link.alpha;
    Timeline* claimed[3] = {&receive_port_[static_cast<std::size_t>(to)], nullptr, nullptr};
    if (across) {
      claimed[1] = &link_out_[static_cast<std::size_t>(cluster_.node_of(from))];
      claimed[2] = &link_in_[static_cast<std::size_t>(cluster_.node_of(to))];
      bytes_out_[static_cast<std::size_t>(cluster_.node_of(from))] += data.size();
    }
    for (bool moved = true; moved;) {  // the first gap every claimed timeline has
      moved = false;
      for (Timeline* timeline : claimed)
        if (timeline) {
          const double free = timeline->fit(wire, length);
          moved = moved || free > wire;
          wire = free;
        }
    }
    const double finish = wire + length;
    sender = finish;
    for (Timeline* timeline : claimed)
      if (timeline) {
        timeline->forget_before(t);  // no message starts before the running fiber's clock
        timeline->reserve(wire, finish);
      }
    ++messages_;
    Channel& channel = channels_[key(from, to, tag)];
    Message& m = channel.messages.emplace_back();
    m.bytes = data.size();
    m.finish = finish;
    if (carries(data.size())) m.keep(data);
    if (channel.waiter >= 0) fibers_.wake(channel.waiter, finish);
    return finish;
  }

  // A receive's place in its channel's posting order.
  std::uint64_t post_receive(int from, int to, Tag tag) {
    return channels_[key(from, to, tag)].receives_posted++;
  }

  // Waits (in virtual time) for receive `ticket` of the channel and delivers it into `buffer`;
  // returns its bytes.
  std::size_t receive(int from, int to, Tag tag, std::uint64_t ticket,
                      std::span<std::byte> buffer) {
    const std::uint64_t k = key(from, to, tag);
    Channel* channel = channels_.find(k);  // posted, so there; found again after every wait:
    while (ticket >= channel->first_ticket + channel->pending()) {  // a send may grow the table
      channel->waiter = to;
      const bool woken = fibers_.block();
      channel = channels_.find(k);
      channel->waiter = -1;
      if (!woken)
        throw Error(ErrorKind::timeout, Operation::unnamed, Error::Rank{to}, Error::Peer{from},
                    "the simulated job is deadlocked (every rank waits for a message no rank "
                    "sends) while " +
                        colt::detail::describe_message(false, from, tag));
    }
    Message& m = channel->ticket(ticket);
    if (m.bytes > buffer.size())
      throw Error(ErrorKind::mismatch, Operation::unnamed, Error::Rank{to}, Error::Peer{from},
                  "message of " + std::to_string(m.bytes) +
                      " bytes does not fit the receive buffer of " + std::to_string(buffer.size()) +
                      " bytes while " + colt::detail::describe_message(false, from, tag));
    if (carries(m.bytes) && m.bytes > 0) std::memcpy(buffer.data(), m.payload(), m.bytes);
    const std::size_t bytes = m.bytes;
    const double finish = m.finish;
    m.taken = true;
    m.large = {};
    while (channel->pending() > 0 && channel->messages[channel->head].taken) {
      ++channel->head;
      ++channel->first_ticket;
    }
    if (channel->pending() == 0) {
      channel->messages.clear();
      channel->head = 0;
      if (channel->empty()) channels_.erase(k);  // a later message starts an equal one afresh
    }
    fibers_.advance_to(finish);
    return bytes;
  }

  // Whether receive `ticket` could complete now without waiting.
  bool arrived(int from, int to, Tag tag, std::uint64_t ticket) const {
    const Channel* channel = channels_.find(key(from, to, tag));
    if (!channel || ticket >= channel->first_ticket + channel->pending()) return false;
    return channel->ticket(ticket).finish <= fibers_.now();
  }

 private:
  bool carries(std::size_t bytes) const {
    return cluster_.payload || bytes <= Cluster::always_carried;
  }
  static std::uint64_t key(int from, int to, Tag tag) {
    return (static_cast<std::uint64_t>(from) << 48) | (static_cast<std::uint64_t>(to) << 32) |
           tag.value;
  }

  Cluster cluster_;
  Fibers& fibers_;
  std::vector<double> send_port_;  // when each rank's earlier sends finish
  std::vector<Timeline> receive_port_, link_out_, link_in_;
  std::vector<std::uint64_t> bytes_out_;
  std::uint64_t messages_ = 0;
  ChannelTable channels_;
};

}  // namespace detail

}  // namespace colt::sim
