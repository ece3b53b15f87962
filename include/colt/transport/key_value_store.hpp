#pragma once
// How the processes of a job meet through a key-value store: each sets its blob (a UCX worker's
// address) under its rank and gets everyone else's, as NCCL's unique id travels through torch's
// store. Any store with set and a get that waits will do: colt's TcpStore (tcp_store.hpp), or a
// framework's own (torch's c10d::Store, wrapped). StoreRendezvous gives it the rendezvous'
// interface that ucx::communicator takes, beside FileRendezvous.

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"

namespace colt {

// set(key, bytes, deadline); get(key, deadline) waits until the key is set and returns its bytes.
template <class S>
concept KeyValueStore = requires(S& store, const std::string& key, std::span<const std::byte> value,
                                 const Deadline& deadline) {
  store.set(key, value, deadline);
  { store.get(key, deadline) } -> std::same_as<std::vector<std::byte>>;
};

// What ucx::communicator needs to meet the other processes: this process's rank and the world
// size, an exchange of one blob each (every rank's, in rank order), and a finish once done.
template <class R>
concept Rendezvous = requires(R& r, std::span<const std::byte> mine, const Deadline& deadline) {
  { r.rank() } -> std::convertible_to<int>;
  { r.size() } -> std::convertible_to<int>;
  { r.exchange(mine, deadline) } -> std::same_as<std::vector<std::vector<std::byte>>>;
  r.finish(deadline);
};

template <KeyValueStore Store>
class StoreRendezvous {
 public:
  // `prefix` keeps this meeting's keys apart from others through the same store.
  StoreRendezvous(Store& store, int rank, int world, std::string prefix = "colt/")
      : store_(store), rank_(rank), world_(world), prefix_(std::move(prefix)) {
    if (world_ < 1 || rank_ < 0 || rank_ >= world_)
      throw Error(ErrorKind::invalid_argument, Operation::rendezvous, Error::Rank{rank_},
                  "rank " + std::to_string(rank_) + " of a world of " + std::to_string(world_));
  }

  int rank() const { return rank_; }
  int size() const { return world_; }

  std::vector<std::vector<std::byte>> exchange(std::span<const std::byte> mine,
                                               const Deadline& deadline) {
    store_.set(key("rank", rank_), mine, deadline);
    std::vector<std::vector<std::byte>> blobs(static_cast<std::size_t>(world_));
    for (int q = 0; q < world_; ++q) {
      try {
        blobs[static_cast<std::size_t>(q)] = q == rank_
                                                 ? std::vector<std::byte>(mine.begin(), mine.end())
                                                 : store_.get(key("rank", q), deadline);
      } catch (const Error& e) {
        throw Error(e.kind(), Operation::rendezvous, Error::Rank{rank_}, Error::Peer{q},
                    "waiting for rank " + std::to_string(q) + " to join: " + e.cause());
      }
    }
    return blobs;
  }

  // Every rank says it has read every blob; rank 0, whose process usually serves the store,
  // waits until all have (until the deadline, then gives up quietly), so that its store outlives
  // their last get.
  void finish(const Deadline& deadline) {
    const std::byte done{1};
    store_.set(key("done", rank_), std::span(&done, 1), deadline);
    if (rank_ != 0) return;
    try {
      for (int q = 1; q < world_; ++q) (void)store_.get(key("done", q), deadline);
    } catch (const Error&) {  // a rank that died after its exchange: nothing left to serve it
    }
  }

 private:
  std::string key(const char* what, int rank) const {
    return prefix_ + what + "/" + std::to_string(rank);
  }

  Store& store_;
  int rank_;
  int world_;
  std::string prefix_;
};

}  // namespace colt
