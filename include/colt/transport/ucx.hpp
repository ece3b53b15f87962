#pragma once
// UCX transport: colt over UCP tag matching. UCX picks the wire itself (shared memory, TCP,
// RDMA), so the same program runs on one machine or across a cluster's fabric.
//
// Each rank owns one UCP worker with an endpoint to every peer. Workers find each other through
// a bootstrap communicator: any colt communicator carries the address exchange, so UCX runs under
// MPI's launcher (bootstrap over colt::mpi) or on in-process threads (bootstrap over
// colt::inprocess, every thread with a worker of its own: UCX testable without a launcher).
//
//   colt::mpi::Environment mpi(argc, argv);
//   auto boot = colt::mpi::world();
//   auto comm = colt::ucx::communicator(boot);      // collective over `boot`
//   colt::all_reduce(comm, gradients, colt::sum{});
//
//   colt::ucx::launch(4, [](colt::ucx::Communicator& comm) { ... });   // 4 threads, no launcher

#include "colt/transport/ucx/ucp_h.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "colt/core/communicator.hpp"
#include "colt/core/deadline.hpp"
#include "colt/core/detail/check_peer.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/core/detail/exchange.hpp"
#include "colt/transport/detail/split_part.hpp"
#include "colt/transport/file_rendezvous.hpp"
#include "colt/transport/key_value_store.hpp"
#include "colt/transport/tcp_store.hpp"
#include "colt/transport/detail/abort_on_throw.hpp"
#include "colt/transport/inprocess.hpp"
#include "colt/transport/ucx/check.hpp"
#include "colt/transport/ucx/request.hpp"
#include "colt/transport/ucx/wire_tag.hpp"
#include "colt/transport/ucx/worker.hpp"

namespace colt::ucx {

namespace detail {

// Longer than any UCX worker address (those take a few KiB at most): a corrupt length.
inline constexpr std::int64_t max_address_bytes = std::int64_t{1} << 20;

// Bootstrap addresses travel as 64-bit words, each rank's padded to whole words: the words that
// each rank's address takes, from the address lengths gathered from every rank.
inline std::vector<std::size_t> address_words(std::span<const std::int64_t> lengths, int rank) {
  std::vector<std::size_t> words(lengths.size());
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    if (lengths[r] < 0 || lengths[r] > max_address_bytes)
      throw Error(ErrorKind::corrupt, Operation::ucx_bootstrap, Error::Rank{rank},
                  Error::Peer{static_cast<int>(r)},
                  "worker address length " + std::to_string(lengths[r]) +
                      " out of range (corrupt message?)");
    words[r] = (static_cast<std::size_t>(lengths[r]) + 7) / 8;
  }
  return words;
}

// Every rank's address, cut out of the gathered words. `words` is what address_words returned
// for `lengths`, and `all` holds their sum.
inline std::vector<std::vector<std::byte>> unpack_addresses(std::span<const std::int64_t> all,
                                                            std::span<const std::int64_t> lengths,
                                                            std::span<const std::size_t> words) {
  std::vector<std::vector<std::byte>> addresses(lengths.size());
  for (std::size_t r = 0, offset = 0; r < lengths.size(); offset += words[r], ++r) {
    const auto* start = reinterpret_cast<const std::byte*>(all.data() + offset);
    addresses[r].assign(start, start + lengths[r]);
  }
  return addresses;
}

// The context id a split's group agrees on: the highest of its members' proposals (word 2 of
// each record: Worker::unused_context, 1 up to abort_context, which claim_context refuses), so
// unused by every member. Any other proposal is a corrupt message.
inline std::uint32_t agreed_context(std::span<const std::int64_t> records,
                                    std::span<const int> members, int rank) {
  std::uint32_t context = 0;
  for (const int q : members) {
    const std::int64_t proposal = records[3 * static_cast<std::size_t>(q) + 2];
    if (proposal < 1 || proposal > abort_context)
      throw Error(
          ErrorKind::corrupt, Operation::split, Error::Rank{rank}, Error::Peer{q},
          "context id proposal " + std::to_string(proposal) + " out of range (corrupt message?)");
    context = std::max(context, static_cast<std::uint32_t>(proposal));
  }
  return context;
}

}  // namespace detail

class Transport;

// The point-to-point messages of a communicator's failure agreement (Transport::recovery_channel).
class RecoveryChannel {
 public:
  explicit RecoveryChannel(Transport& transport);
  int rank() const { return rank_; }
  int size() const { return static_cast<int>(members_.size()); }
  Request isend(int peer, std::span<const std::byte> data, Tag tag) {
    const int link = link_of(peer);
    ucp_request_param_t param{};
    ucs_status_ptr_t started =
        ucp_tag_send_nbx(worker_->endpoint(link), data.data(), data.size(),
                         recovery_tag(context_, worker_->rank(), tag), &param);
    return Request(*worker_, Request::Kind::send, started, rank_, peer, link, tag, data.size(),
                   context_, false);
  }
  Request irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    const int link = link_of(peer);
    ucp_request_param_t param{};
    param.op_attr_mask = UCP_OP_ATTR_FLAG_NO_IMM_CMPL;  // as Transport::irecv: the length is known
    ucs_status_ptr_t started =
        ucp_tag_recv_nbx(worker_->native(), buffer.data(), buffer.size(),
                         recovery_tag(context_, link, tag), match_all, &param);
    return Request(*worker_, Request::Kind::receive, started, rank_, peer, link, tag, buffer.size(),
                   context_, false);
  }

 private:
  int link_of(int peer) const {
    colt::detail::check_peer(Operation::unnamed, rank_, peer, size());
    return members_[static_cast<std::size_t>(peer)];
  }
  Worker* worker_;
  std::vector<int> members_;
  int rank_;
  std::uint32_t context_;
};

class Transport {
 public:
  static constexpr std::string_view name = "ucx";  // in logs and flight-recorder dumps
  // The communicator of the whole bootstrap group over a connected worker.
  explicit Transport(std::shared_ptr<Worker> worker)
      : worker_(std::move(worker)),
        members_(static_cast<std::size_t>(worker_->size())),
        rank_(worker_->rank()) {
    std::iota(members_.begin(), members_.end(), 0);
  }

  int rank() const { return rank_; }
  int size() const { return static_cast<int>(members_.size()); }
  ucp_worker_h native_worker() const { return worker_->native(); }

  // Communicators split from one worker share it, and a UCP worker is driven by one thread:
  // DataParallel asks this before overlapping buckets on a second communicator from a thread of
  // its own, and keeps to the calling thread.
  bool concurrent_communicators() const { return false; }

  void note_failure() noexcept { worker_->note_failure(); }
  // Ends every rank's waits on this communicator and on those split from it.
  void abort(const std::string& cause) noexcept { worker_->abort(cause, context_); }

  Request isend(int peer, std::span<const std::byte> data, Tag tag) {
    const int link = link_of(peer);
    ucp_request_param_t param{};
    ucs_status_ptr_t started = ucp_tag_send_nbx(worker_->endpoint(link), data.data(), data.size(),
                                                wire_tag(context_, worker_->rank(), tag), &param);
    return Request(*worker_, Request::Kind::send, started, rank_, peer, link, tag, data.size(),
                   context_);
  }

  Request irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    const int link = link_of(peer);
    // Always a request, never immediate completion: UCX 1.13 leaves the length of a receive that
    // completes at once unreported (recv_info stays unwritten), and colt needs it to check counts.
    ucp_request_param_t param{};
    param.op_attr_mask = UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
    ucs_status_ptr_t started = ucp_tag_recv_nbx(worker_->native(), buffer.data(), buffer.size(),
                                                wire_tag(context_, link, tag), match_all, &param);
    return Request(*worker_, Request::Kind::receive, started, rank_, peer, link, tag, buffer.size(),
                   context_);
  }

  // Ranks with the same color form a new transport on the same worker, ordered by (key, rank).
  // One exchange under the deadline carries colors, keys and context-id proposals.
  Transport split(int color, int key, Tag tag, const Deadline& deadline) {
    if (color < 0)
      throw Error(ErrorKind::invalid_argument, Operation::split, Error::Rank{rank_},
                  "color must be non-negative");
    const auto p = static_cast<std::size_t>(size());
    std::vector<std::int64_t> entries(3 * p);
    const auto me = static_cast<std::size_t>(rank_);
    entries[3 * me] = color;
    entries[3 * me + 1] = key;
    entries[3 * me + 2] = worker_->unused_context();
    colt::detail::exchange_with_all(*this, std::span(entries), 3, tag, deadline);
    const colt::detail::SplitPart chosen = colt::detail::split_part(entries, 3, rank_);
    const std::uint32_t context = detail::agreed_context(entries, chosen.members, rank_);
    worker_->claim_context(context);
    worker_->set_parent(context, context_);
    Transport part(worker_, context);
    for (const int q : chosen.members)
      part.members_.push_back(members_[static_cast<std::size_t>(q)]);
    part.rank_ = chosen.rank;
    return part;
  }

  // Failure agreement (core/detail/failure_agreement.hpp): messages on the worker's recovery
  // channel, which an abort of this communicator does not end; a dead peer fails them through
  // UCX's peer error handling, or at the deadline.
  RecoveryChannel recovery_channel() { return RecoveryChannel(*this); }
  // A context id no communicator of this rank uses; the survivors take the largest proposal.
  std::uint32_t successor_proposal() const { return worker_->unused_context(); }
  // The communicator of every rank but `failed` (ascending), in this one's order, on the same
  // worker and endpoints: no messages needed. No descendant of this communicator, so the abort
  // that ended this one leaves it working.
  Transport without(std::span<const int> failed, std::uint32_t context) {
    if (std::binary_search(failed.begin(), failed.end(), rank_))
      throw Error(ErrorKind::invalid_argument, Operation::shrink, Error::Rank{rank_},
                  "this rank is among the failed ranks");
    worker_->claim_context(context);
    Transport part(worker_, context);
    for (int r = 0; r < size(); ++r) {
      if (std::binary_search(failed.begin(), failed.end(), r)) continue;
      if (r == rank_) part.rank_ = static_cast<int>(part.members_.size());
      part.members_.push_back(members_[static_cast<std::size_t>(r)]);
    }
    return part;
  }

 private:
  friend class RecoveryChannel;
  Transport(std::shared_ptr<Worker> worker, std::uint32_t context)
      : worker_(std::move(worker)), context_(context) {}

  // The peer's rank in the bootstrap group (its endpoint and its sender id on the wire).
  int link_of(int peer) const {
    colt::detail::check_peer(Operation::unnamed, rank_, peer, size());
    return members_[static_cast<std::size_t>(peer)];
  }

  std::shared_ptr<Worker> worker_;
  std::uint32_t context_ = 0;
  std::vector<int> members_;  // communicator rank -> bootstrap rank
  int rank_ = 0;
};

inline RecoveryChannel::RecoveryChannel(Transport& transport)
    : worker_(transport.worker_.get()),
      members_(transport.members_),
      rank_(transport.rank_),
      context_(transport.context_) {}

static_assert(colt::Transport<Transport>);
static_assert(ShrinkableTransport<Transport>);
static_assert(SplittableTransport<Transport>);
static_assert(!ViewTransport<Transport>);
static_assert(FailureAwareTransport<Transport>);
static_assert(AbortableTransport<Transport>);

using Communicator = colt::Communicator<Transport>;

struct Options {
  // Endpoints in UCX's peer error-handling mode: a peer whose process dies is reported by UCX
  // (connection reset, keepalive) as well as by colt's deadline. UCX 1.13 has no peer failure
  // handler for its shared-memory transports (sysv, posix), so in this mode ranks on one machine
  // talk over TCP loopback. Turn it off for shared-memory speed between processes on one node:
  // a dead peer is then reported by the deadline and by abort notices only (docs/ucx.md).
  bool peer_error_handling = true;
};

// A UCX communicator over the same ranks as `bootstrap` (collective over it): each rank creates
// its worker, the worker addresses travel over `bootstrap`'s transport, and every rank connects
// to every other. `bootstrap` is not needed afterwards. Unless `options` says otherwise, the new
// communicator keeps `bootstrap`'s timeout, which also bounds the flush when it is destroyed.
template <class BootstrapTransport>
Communicator communicator(colt::Communicator<BootstrapTransport>& bootstrap,
                          CommunicatorOptions options = {}, Options ucx_options = {}) {
  if (!options.timeout) options.timeout = bootstrap.timeout();
  const auto p = static_cast<std::size_t>(bootstrap.size());
  const auto me = static_cast<std::size_t>(bootstrap.rank());
  auto worker = std::make_shared<Worker>(bootstrap.rank(), bootstrap.size(), *options.timeout,
                                         ucx_options.peer_error_handling);
  // Addresses travel as 64-bit words (colt's element types), each rank's padded to whole words.
  const std::vector<std::byte> mine = worker->address();
  std::vector<std::int64_t> lengths(p, 0);
  lengths[me] = static_cast<std::int64_t>(mine.size());
  // The exchange runs on the bootstrap's transport, below the collectives (this layer's floor),
  // as one call of the bootstrap communicator: two rounds under its tags and its deadline.
  auto& plumbing = colt::detail::plumbing(bootstrap);
  plumbing.throw_if_broken(Operation::ucx_bootstrap);
  try {
    const Deadline deadline = bootstrap.deadline();
    colt::detail::exchange_with_all(bootstrap.transport(), std::span(lengths), 1,
                                    plumbing.next_tag(CollectiveKind::all_gather), deadline);
    const std::vector<std::size_t> words = detail::address_words(lengths, bootstrap.rank());
    std::vector<std::int64_t> all(std::accumulate(words.begin(), words.end(), std::size_t{0}));
    const std::size_t offset = std::accumulate(words.begin(), words.begin() + me, std::size_t{0});
    std::memcpy(all.data() + offset, mine.data(), mine.size());
    colt::detail::exchange_with_all_v(bootstrap.transport(), std::span(all),
                                      std::span<const std::size_t>(words),
                                      plumbing.next_tag(CollectiveKind::all_gather), deadline);
    worker->connect(detail::unpack_addresses(all, lengths, words));
  } catch (const Error& e) {
    throw plumbing.broken_by(e, Operation::ucx_bootstrap);
  }
  return Communicator(Transport(std::move(worker)), options);
}

// A UCX communicator of the processes that meet through `rendezvous`: a FileRendezvous (a
// directory every machine sees) or a StoreRendezvous over a key-value store (TcpStore: an
// address every machine reaches). Each publishes its worker's address there and connects to
// every other. Started by any launcher (a shell loop, srun), so a process killed by a signal
// ends only itself, and the survivors can shrink (docs/fault-tolerance.md). The exchange, and
// the rendezvous' finish, are bounded by the timeout.
template <colt::Rendezvous R>
Communicator communicator(R& rendezvous, const CommunicatorOptions& options = {},
                          Options ucx_options = {}) {
  // Resolved once, here: the bootstrap needs the timeout before the communicator exists.
  const InheritedSettings settings(resolve(options));
  auto worker =
      std::make_shared<Worker>(rendezvous.rank(), rendezvous.size(), settings.settings.timeout,
                               ucx_options.peer_error_handling);
  const std::vector<std::byte> mine = worker->address();
  const Deadline deadline = Deadline::after(settings.settings.timeout);
  worker->connect(rendezvous.exchange(mine, deadline));
  rendezvous.finish(deadline);
  return Communicator(Transport(std::move(worker)), settings);
}

// Runs fn(Communicator&) on `ranks` threads of this process, each with its own UCP worker,
// bootstrapped in-process. A rank that throws aborts the group (its peers' waits end at once),
// and the exception is rethrown here, as inprocess::launch does.
template <class Fn>
void launch(int ranks, Fn&& fn, CommunicatorOptions options = {}) {
  inprocess::launch(
      ranks,
      [&](inprocess::Communicator& bootstrap) {
        Communicator comm = communicator(bootstrap, options);
        colt::detail::run_aborting_on_throw(comm, fn);
      },
      options);
}

// As launch, for programs that survive a lost rank: a rank that throws ends its thread and its
// worker without telling anyone, as a killed process would, and the survivors find out through
// UCX (the closed connection) or their deadline. Returns each rank's exception.
template <class Fn>
std::vector<std::exception_ptr> launch_surviving(int ranks, Fn&& fn,
                                                 CommunicatorOptions options = {}) {
  return inprocess::launch_surviving(
      ranks,
      [&](inprocess::Communicator& bootstrap) {
        Communicator comm = communicator(bootstrap, options);
        fn(comm);
      },
      options);
}

}  // namespace colt::ucx
