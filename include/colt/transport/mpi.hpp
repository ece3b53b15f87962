#pragma once
// MPI transport: colt over MPI point-to-point (MPI_Isend / MPI_Irecv / MPI_Test), launched by the
// MPI library's own launcher (mpiexec), on one machine or many. colt writes no cluster manager:
// process start-up, addressing and the wire are MPI's.
//
// Every colt communicator owns a duplicate of the MPI_Comm it was made from, with
// MPI_ERRORS_RETURN set, so colt's messages never meet the program's own MPI traffic and an MPI
// error becomes a colt::Error instead of aborting the job.
//
//   colt::mpi::Environment mpi(argc, argv);          // MPI_Init_thread ... MPI_Finalize
//   auto comm = colt::mpi::world();                  // or colt::mpi::communicator(existing_comm)
//   colt::all_reduce(comm, gradients, colt::sum{});

#include "colt/transport/mpi/mpi_h.hpp"

#include <algorithm>
#include <cstdint>
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
#include "colt/transport/mpi/check.hpp"
#include "colt/transport/mpi/environment.hpp"
#include "colt/transport/mpi/request.hpp"
#include "colt/transport/mpi/tag_fold.hpp"

namespace colt::mpi {

class Transport {
 public:
  static constexpr std::string_view name = "mpi";  // in logs and flight-recorder dumps
  // Duplicates `comm` (collective over it) and returns MPI errors on the duplicate.
  static Transport duplicate(MPI_Comm comm) {
    MPI_Comm own = MPI_COMM_NULL;
    int rank = -1;
    MPI_Comm_rank(comm, &rank);
    check(MPI_Comm_dup(comm, &own), rank, no_peer, "MPI_Comm_dup");
    return Transport(own);
  }

  Transport(Transport&& other) noexcept
      : comm_(std::exchange(other.comm_, MPI_COMM_NULL)),
        rank_(other.rank_),
        size_(other.size_),
        tags_(other.tags_),
        failed_(other.failed_) {}
  Transport& operator=(Transport&& other) noexcept {
    if (this != &other) {
      free();
      comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
      rank_ = other.rank_;
      size_ = other.size_;
      tags_ = other.tags_;
      failed_ = other.failed_;
    }
    return *this;
  }
  ~Transport() { free(); }

  int rank() const { return rank_; }
  int size() const { return size_; }
  // colt's private communicator, e.g. to compare with MPI's own collectives on the same ranks.
  MPI_Comm native() const { return comm_; }

  // Whether another thread may drive a second communicator while this one is in use: only under
  // MPI_THREAD_MULTIPLE. Helpers that communicate from a thread of their own (DataParallel's
  // overlapped buckets) ask this and fall back to the calling thread otherwise.
  bool concurrent_communicators() const {
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    return provided == MPI_THREAD_MULTIPLE;
  }

  // How colt's tags travel as MPI's (mpi/tag_fold.hpp).
  const TagFold& tags() const { return tags_; }

  // Called by colt when a collective on this transport failed (see free()).
  void note_failure() noexcept { failed_ = true; }
  bool failed() const { return failed_; }

  Request isend(int peer, std::span<const std::byte> data, Tag tag) {
    check_peer(peer);
    // MPI_Isend takes a non-const pointer only in MPI-2 headers; it never writes.
    return Request(Request::Kind::send, comm_, rank_, peer, tag, tags_,
                   const_cast<std::byte*>(data.data()), data.size());
  }

  Request irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    check_peer(peer);
    return Request(Request::Kind::receive, comm_, rank_, peer, tag, tags_, buffer.data(),
                   buffer.size());
  }

  // Ranks with the same color form a new transport, ordered by (key, rank). Colors and keys are
  // first exchanged as colt messages under the deadline, so a dead or absent rank is reported
  // instead of blocking inside MPI_Comm_split; the split itself then runs with every rank present.
  Transport split(int color, int key, Tag tag, const Deadline& deadline) {
    if (color < 0)
      throw Error(ErrorKind::invalid_argument, Operation::split, Error::Rank{rank_},
                  "color must be non-negative");
    std::vector<std::int32_t> entries(2 * static_cast<std::size_t>(size_));
    entries[2 * static_cast<std::size_t>(rank_)] = color;
    entries[2 * static_cast<std::size_t>(rank_) + 1] = key;
    colt::detail::exchange_with_all(*this, std::span(entries), 2, tag, deadline);
    MPI_Comm part = MPI_COMM_NULL;
    check(MPI_Comm_split(comm_, color, key, &part), rank_, no_peer, "MPI_Comm_split");
    return Transport(part);
  }

 private:
  // Takes ownership of `own`.
  explicit Transport(MPI_Comm own) : comm_(own) {
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), -1, no_peer,
          "MPI_Comm_set_errhandler");
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    int* upper = nullptr;
    int found = 0;
    MPI_Comm_get_attr(comm_, MPI_TAG_UB, &upper, &found);
    tags_ = TagFold(found && upper ? static_cast<std::uint32_t>(*upper) : 32767u);
  }

  void check_peer(int peer) const {
    colt::detail::check_peer(Operation::unnamed, rank_, peer, size_);
  }

  // A communicator on which a call failed is never freed: MPI would hand its context to the next
  // communicator created, and a message of the failed call still in flight would land there.
  void free() noexcept {
    if (comm_ != MPI_COMM_NULL && !failed_ && !finalized()) MPI_Comm_free(&comm_);
    comm_ = MPI_COMM_NULL;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  TagFold tags_{32767u};
  bool failed_ = false;
};

static_assert(colt::Transport<Transport>);
static_assert(SplittableTransport<Transport>);
static_assert(!ViewTransport<Transport>);
static_assert(FailureAwareTransport<Transport>);

using Communicator = colt::Communicator<Transport>;

// A colt communicator over the same ranks as `comm` (collective over `comm`): how code that
// already uses MPI adopts colt one call at a time. `comm` itself is left untouched.
inline Communicator communicator(MPI_Comm comm, const CommunicatorOptions& options = {}) {
  return Communicator(Transport::duplicate(comm), options);
}

// A colt communicator over every process of the job (MPI_COMM_WORLD).
inline Communicator world(const CommunicatorOptions& options = {}) {
  return communicator(MPI_COMM_WORLD, options);
}

}  // namespace colt::mpi
