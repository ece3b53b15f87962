#pragma once
// A hybrid communicator: threads within a node, processes across nodes (MPICH's threadcomm idea,
// and what hybrid MPI + threads programs do by hand). Every process runs M thread ranks, and the
// job is one communicator of p = N x M ranks: process k's threads are ranks kM .. kM + M - 1.
//  - A message to a rank of the same process goes through the in-process transport: one copy
//    between the two threads' buffers, no system call, no network stack.
//  - A message to a rank of another process goes through UCX: each thread rank drives a UCP
//    worker of its own, connected to every other rank's.
// Messages between one pair of ranks always take the same path, so the ordering contract
// (core/transport_concepts.hpp) holds. The algorithms and plan() run over it unchanged;
// comm.nodes() finds the nodes as on any transport (host names, COLT_NODE), so a process's
// threads share a node, and the two-level algorithms (algorithms/hierarchical.hpp) keep their
// node level on the in-process path.
//
//   colt::mpi::Environment env(argc, argv);
//   auto processes = colt::mpi::world();               // one process per node
//   colt::hybrid::launch(processes, 4, [](colt::hybrid::Communicator& comm) {
//     colt::all_reduce(comm, gradients, colt::sum{});  // 4 thread ranks per process
//   });
//
// Any colt communicator of the processes bootstraps it (MPI, UCX over a rendezvous, or
// in-process threads standing in for processes in tests); it is used on the calling thread
// only, before the rank threads start. Not yet: views and shared slots on the in-process path
// (the two-level algorithms' node level runs there by messages), and surviving a lost rank.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "colt/core/communicator.hpp"
#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/core/detail/exchange.hpp"
#include "colt/core/tag.hpp"
#include "colt/transport/detail/split_part.hpp"
#include "colt/transport/detail/abort_on_throw.hpp"
#include "colt/transport/inprocess.hpp"
#include "colt/transport/ucx.hpp"

namespace colt::hybrid {

// A send or receive on one of the two paths.
class Request {
 public:
  Request(inprocess::Request request, ucp_worker_h worker)
      : request_(std::move(request)), worker_(worker) {}
  explicit Request(ucx::Request request) : request_(std::move(request)) {}

  std::size_t wait(const Deadline& deadline) {
    if (auto* local = std::get_if<inprocess::Request>(&request_))
      return wait_local(*local, deadline);
    return std::get<ucx::Request>(request_).wait(deadline);
  }
  bool test() {
    if (worker_) ucp_worker_progress(worker_);
    return std::visit([](auto& r) -> bool { return r.test(); }, request_);
  }

 private:
  // A rank waiting for a thread of its own process still drives its UCP worker: a send of its
  // to another process may need the worker to move (UCX's rendezvous protocol), and that process
  // may be waiting for it before it can send what this rank's local peer waits for. Spins while
  // the worker has events, yields, then sleeps in short slices once nothing has moved for a
  // while (more ranks than cores); the in-process wait reports an abort, a peer gone and the
  // deadline, as it does alone.
  std::size_t wait_local(inprocess::Request& local, const Deadline& deadline) {
    auto quiet_since = Clock::now();
    for (unsigned i = 0; !local.test(); ++i) {
      if (ucp_worker_progress(worker_) != 0) quiet_since = Clock::now();
      if ((i & 63) != 63) continue;
      const auto now = Clock::now();
      if (now >= deadline.at) break;
      if (now - quiet_since > std::chrono::microseconds(200))
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      else
        std::this_thread::yield();
    }
    return local.wait(deadline);
  }

  std::variant<inprocess::Request, ucx::Request> request_;
  ucp_worker_h worker_ = nullptr;  // the in-process path's: this rank's worker, to drive
};

class Transport {
 public:
  static constexpr std::string_view name = "hybrid";  // in logs and flight-recorder dumps

  // `local`: this process's thread ranks, in order; `network`: every rank, where this process's
  // are `first` .. `first` + local.size() - 1.
  Transport(inprocess::Transport local, ucx::Transport network, int first)
      : local_(std::move(local)), network_(std::move(network)) {
    local_of_.assign(static_cast<std::size_t>(network_.size()), -1);
    const auto start = static_cast<std::size_t>(first);
    for (int k = 0; k < local_.size(); ++k) local_of_[start + static_cast<std::size_t>(k)] = k;
  }

  int rank() const { return network_.rank(); }
  int size() const { return network_.size(); }
  // Whether `peer` is a thread of this process: a rank the in-process path reaches.
  bool same_process(int peer) const { return local_of(peer) >= 0; }

  Request isend(int peer, std::span<const std::byte> data, Tag tag) {
    if (const int k = local_of(peer); k >= 0)
      return Request(local_.isend(k, data, tag), network_.native_worker());
    return Request(network_.isend(peer, data, tag));
  }
  Request irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    if (const int k = local_of(peer); k >= 0)
      return Request(local_.irecv(k, buffer, tag), network_.native_worker());
    return Request(network_.irecv(peer, buffer, tag));
  }

  // Ranks with the same color form a new transport, ordered by (key, rank): both halves split
  // (the in-process one among this process's ranks, which all call it too), and one exchange of
  // colors and keys over this transport says which of the new ranks are this process's.
  Transport split(int color, int key, Tag tag, const Deadline& deadline) {
    const auto me = static_cast<std::size_t>(rank());
    std::vector<std::int64_t> entries(2 * static_cast<std::size_t>(size()));
    entries[2 * me] = color;
    entries[2 * me + 1] = key;
    colt::detail::exchange_with_all(*this, std::span(entries), 2, tag, deadline);
    const colt::detail::SplitPart part = colt::detail::split_part(entries, 2, rank());
    Transport result(local_.split(color, key, tag, deadline),
                     network_.split(color, key, tag, deadline));
    // Both halves order by (key, rank), and a process's ranks are in the same order in both.
    result.local_of_.assign(part.members.size(), -1);
    int k = 0;
    for (std::size_t i = 0; i < part.members.size(); ++i)
      if (same_process(part.members[i])) result.local_of_[i] = k++;
    return result;
  }

  // A UCP worker is driven by one thread (ucx::Transport says the same).
  bool concurrent_communicators() const { return false; }
  void note_failure() noexcept { network_.note_failure(); }
  // Ends the waits of this process's ranks at once, and the other processes' through UCX's
  // abort notices.
  void abort(const std::string& cause) noexcept {
    local_.abort(cause);
    network_.abort(cause);
  }

 private:
  Transport(inprocess::Transport local, ucx::Transport network)
      : local_(std::move(local)), network_(std::move(network)) {}

  // `peer`'s rank in the in-process half, or -1 where it is another process's.
  int local_of(int peer) const {
    if (peer < 0 || peer >= size()) return -1;  // the network half reports the bad peer
    return local_of_[static_cast<std::size_t>(peer)];
  }

  inprocess::Transport local_;
  ucx::Transport network_;
  std::vector<int> local_of_;  // rank -> rank in local_, or -1
};

using Communicator = colt::Communicator<Transport>;

namespace detail {

// One UCP worker per thread rank of this process, each connected to every rank's worker: the
// addresses travel over `processes` (two all-gathers), on this thread.
template <class ProcessTransport>
std::vector<std::shared_ptr<ucx::Worker>> connected_workers(
    colt::Communicator<ProcessTransport>& processes, int threads, Clock::duration timeout,
    const ucx::Options& ucx_options) {
  const int p = processes.size() * threads, first = processes.rank() * threads;
  const auto m = static_cast<std::size_t>(threads);
  std::vector<std::shared_ptr<ucx::Worker>> workers;
  std::vector<std::vector<std::byte>> addresses;
  std::vector<std::int64_t> mine(m);
  for (std::size_t t = 0; t < m; ++t) {
    workers.push_back(std::make_shared<ucx::Worker>(first + static_cast<int>(t), p, timeout,
                                                    ucx_options.peer_error_handling));
    addresses.push_back(workers.back()->address());
    mine[t] = static_cast<std::int64_t>(addresses.back().size());
  }
  // The exchange runs on the processes' transport, below the collectives (this layer's floor),
  // as one call of their communicator: two rounds under its tags and its deadline.
  auto& plumbing = colt::detail::plumbing(processes);
  plumbing.throw_if_broken(Operation::ucx_bootstrap);
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(p)), all;
  std::vector<std::size_t> words;
  try {
    const Deadline deadline = processes.deadline();
    std::copy(mine.begin(), mine.end(), lengths.begin() + first);
    colt::detail::exchange_with_all(processes.transport(), std::span(lengths), m,
                                    plumbing.next_tag(CollectiveKind::all_gather), deadline);
    // Each rank's address padded to whole 64-bit words (colt's element types), a process's
    // ranks back to back.
    words = ucx::detail::address_words(lengths, first);
    std::vector<std::size_t> process_words(static_cast<std::size_t>(processes.size()), 0);
    std::size_t offset = 0;
    for (std::size_t r = 0; r < words.size(); ++r) {
      process_words[r / m] += words[r];
      if (r < static_cast<std::size_t>(first)) offset += words[r];
    }
    all.resize(std::accumulate(words.begin(), words.end(), std::size_t{0}));
    for (std::size_t t = 0; t < m; offset += words[static_cast<std::size_t>(first) + t], ++t)
      std::memcpy(all.data() + offset, addresses[t].data(), addresses[t].size());
    colt::detail::exchange_with_all_v(processes.transport(), std::span(all),
                                      std::span<const std::size_t>(process_words),
                                      plumbing.next_tag(CollectiveKind::all_gather), deadline);
  } catch (const Error& e) {
    throw plumbing.broken_by(e, Operation::ucx_bootstrap);
  }
  const auto connected = ucx::detail::unpack_addresses(all, lengths, words);
  for (auto& worker : workers) worker->connect(connected);
  return workers;
}

}  // namespace detail

// Runs fn(hybrid::Communicator&) on `threads` threads of this process, one communicator of
// processes.size() x threads ranks across every process that calls it with the same `threads`
// (collective over `processes`). A rank that throws aborts the others, in this process at once
// and elsewhere through UCX, and the exception is rethrown here, as inprocess::launch does.
// Unless `options` says otherwise, the communicator keeps `processes`' timeout.
template <class ProcessTransport, class Fn>
void launch(colt::Communicator<ProcessTransport>& processes, int threads, Fn&& fn,
            CommunicatorOptions options = {}, ucx::Options ucx_options = {}) {
  if (threads < 1)
    throw Error(ErrorKind::invalid_argument, Operation::launch, Error::Rank{processes.rank()},
                "needs at least one thread per process, got " + std::to_string(threads));
  if (!options.timeout) options.timeout = processes.timeout();
  const std::vector<std::shared_ptr<ucx::Worker>> workers =
      detail::connected_workers(processes, threads, *options.timeout, ucx_options);
  const int first = processes.rank() * threads;
  inprocess::launch(
      threads,
      [&](inprocess::Communicator& local) {
        Communicator comm(
            Transport(inprocess::Transport(local.transport()),
                      ucx::Transport(workers[static_cast<std::size_t>(local.rank())]), first),
            options);
        colt::detail::run_aborting_on_throw(comm, fn);
      },
      options);
}

}  // namespace colt::hybrid
