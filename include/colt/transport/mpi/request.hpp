#pragma once
// A pending MPI send or receive as a colt request. `wait` polls MPI_Test (which also drives MPI's
// progress engine) until completion or the deadline, so a peer that died or never posts the
// matching call becomes a colt::Error naming that peer instead of a hang.
//
// MPI counts are `int`: a message above 1 GiB travels as several pieces with the same tag, which
// MPI's non-overtaking rule keeps in order. This needs nothing beyond MPI-3 (Open MPI 4 has no
// MPI_Isend_c), so the same code builds against MPICH and Open MPI.

#include "colt/transport/mpi/mpi_h.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/detail/describe_message.hpp"
#include "colt/core/detail/left_call.hpp"
#include "colt/transport/mpi/check.hpp"
#include "colt/transport/mpi/tag_fold.hpp"

namespace colt::mpi {

inline constexpr std::size_t max_piece_bytes = std::size_t{1} << 30;

namespace detail {

inline std::size_t piece_count(std::size_t bytes) {
  return bytes == 0 ? 1 : (bytes + max_piece_bytes - 1) / max_piece_bytes;
}

}  // namespace detail

class Request {
 public:
  enum class Kind : unsigned char { send, receive };

  Request() = default;
  Request(Kind kind, MPI_Comm comm, int rank, int peer, Tag tag, TagFold tags, std::byte* data,
          std::size_t bytes)
      : kind_(kind),
        rank_(rank),
        peer_(peer),
        tag_(tag),
        expected_(bytes),
        comm_(comm),
        tags_(tags) {
    const int mpi_tag = tags.fold(tag);
    const std::size_t pieces = detail::piece_count(bytes);
    if (pieces > 1) more_.resize(pieces - 1, MPI_REQUEST_NULL);
    for (std::size_t i = 0; i < pieces; ++i) {
      const std::size_t offset = i * max_piece_bytes;
      const int count =
          static_cast<int>(std::min(max_piece_bytes, bytes - std::min(bytes, offset)));
      MPI_Request& part = i == 0 ? first_ : more_[i - 1];
      const int code = kind == Kind::send
                           ? MPI_Isend(data + offset, count, MPI_BYTE, peer, mpi_tag, comm, &part)
                           : MPI_Irecv(data + offset, count, MPI_BYTE, peer, mpi_tag, comm, &part);
      if (code != MPI_SUCCESS) {
        cancel();
        check(code, rank, peer, kind == Kind::send ? "MPI_Isend" : "MPI_Irecv");
      }
    }
  }

  Request(Request&& other) noexcept { *this = std::move(other); }
  Request& operator=(Request&& other) noexcept {
    if (this != &other) {
      cancel();
      kind_ = other.kind_;
      rank_ = other.rank_;
      peer_ = other.peer_;
      tag_ = other.tag_;
      expected_ = other.expected_;
      transferred_ = other.transferred_;
      comm_ = other.comm_;
      tags_ = other.tags_;
      probed_ = other.probed_;
      first_ = std::exchange(other.first_, MPI_REQUEST_NULL);
      more_ = std::move(other.more_);
      other.more_.clear();
    }
    return *this;
  }
  ~Request() { cancel(); }

  // True once every piece has completed. Throws colt::Error on an MPI error.
  bool test() {
    if (!poll(first_, 0)) return false;
    for (std::size_t i = 0; i < more_.size(); ++i)
      if (!poll(more_[i], i + 1)) return false;
    return true;
  }

  // Bytes sent, or received (which may be fewer than the buffer holds).
  std::size_t wait(const Deadline& deadline) {
    // MPI_Test is cheap and makes progress; yielding between polls once the wait is long lets a
    // peer that shares this core (more ranks than cores) run.
    // The clock is read on every poll once polls yield: under an oversubscribed Open MPI one
    // MPI_Test can take milliseconds, and reading it every 256 polls overshot a 1 s deadline by
    // 0.8 s.
    for (unsigned i = 0; !test(); ++i) {
      if ((i >= 64 || (i & 15) == 15) && deadline.passed())
        throw Error(ErrorKind::timeout, Operation::unnamed, Error::Rank{rank_}, Error::Peer{peer_},
                    "timed out after " + deadline.budget_text() + " " +
                        colt::detail::describe_message(kind_ == Kind::send, peer_, tag_) +
                        " (peer dead, or not making the same calls?)");
      if (i >= 64 && (i & 63) == 63) {
        look_for_other_calls();
        if (deadline.warning_due())
          warn_still_waiting(deadline, rank_, peer_,
                             colt::detail::describe_message(kind_ == Kind::send, peer_, tag_));
      }
      if (i >= 64) std::this_thread::yield();
    }
    return kind_ == Kind::send ? expected_ : transferred_;
  }

 private:
  // Completes one piece if it can. A short piece of a multi-piece receive ends the message: the
  // sender sent less than this buffer holds, so the later pieces are cancelled.
  bool poll(MPI_Request& request, std::size_t index) {
    if (request == MPI_REQUEST_NULL) return true;
    int flag = 0;
    MPI_Status status;
    const int code = MPI_Test(&request, &flag, &status);
    if (code != MPI_SUCCESS) {
      const int cause = code == MPI_ERR_IN_STATUS ? status.MPI_ERROR : code;
      request = MPI_REQUEST_NULL;
      int error_class = 0;
      MPI_Error_class(cause, &error_class);
      if (error_class == MPI_ERR_TRUNCATE)
        throw Error(ErrorKind::mismatch, Operation::unnamed, Error::Rank{rank_}, Error::Peer{peer_},
                    "message larger than the receive buffer of " + std::to_string(expected_) +
                        " bytes while " + colt::detail::describe_message(false, peer_, tag_) +
                        " (mismatched counts on the ranks?)");
      check(cause, rank_, peer_,
            "MPI_Test " + colt::detail::describe_message(kind_ == Kind::send, peer_, tag_));
    }
    if (!flag) return false;
    if (kind_ == Kind::receive) {
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      transferred_ += static_cast<std::size_t>(count);
      const std::size_t piece = std::min(max_piece_bytes, expected_ - index * max_piece_bytes);
      if (static_cast<std::size_t>(count) < piece)
        for (std::size_t later = index; later < more_.size(); ++later) cancel_one(more_[later]);
    }
    return true;
  }

  // A long wait looks at what else has come in: a message from the peer numbered as this call
  // but of another collective, or another rank's notice that it saw one, means the ranks' calls
  // differ and this wait would last until the deadline. The folded tags keep the kind and the low
  // bits of the call number (mpi/tag_fold.hpp). A rank that sees the other collective first
  // tells every rank, whose waits then end too: MPI cannot abort a communicator for it.
  void look_for_other_calls() {
    if (!numbered(tag_.kind())) return;
    // Nothing is allocated unless this throws: a steady training loop allocates nothing.
    auto waiting = [&] { return colt::detail::describe_message(kind_ == Kind::send, peer_, tag_); };
    int found = 0;
    MPI_Status status;
    if (MPI_Iprobe(MPI_ANY_SOURCE, tags_.fold(notice_tag()), comm_, &found, &status) ==
            MPI_SUCCESS &&
        found)
      throw Error(ErrorKind::mismatch, Operation::unnamed, Error::Rank{rank_},
                  Error::Peer{status.MPI_SOURCE},
                  "rank " + std::to_string(status.MPI_SOURCE) +
                      " found that the ranks called different collectives, while " + waiting());
    // The peer waited for, and one other rank in turn: the message of another collective in
    // the same call may come from any rank (another broadcast's root, say).
    int size = 0;
    MPI_Comm_size(comm_, &size);
    probed_ = (probed_ + 1) % size;
    for (const int from : {peer_, probed_}) {
      if (from == rank_ || MPI_Iprobe(from, MPI_ANY_TAG, comm_, &found, &status) != MPI_SUCCESS ||
          !found)
        continue;
      const std::string other = colt::detail::other_collective(tags_.unfold(tags_.fold(tag_)),
                                                               tags_.unfold(status.MPI_TAG), from);
      if (other.empty()) continue;
      tell_every_rank();
      throw Error(ErrorKind::mismatch, Operation::unnamed, Error::Rank{rank_}, Error::Peer{from},
                  other + ", while " + waiting());
    }
  }
  static constexpr Tag notice_tag() { return Tag::make(CollectiveKind::mismatch_notice, 0); }
  // Empty notices, sent and let go: nobody receives them, and the communicator, broken by this
  // call's failure, is never freed (Transport::note_failure) nor used again.
  void tell_every_rank() noexcept {
    int size = 0;
    MPI_Comm_size(comm_, &size);
    for (int q = 0; q < size; ++q) {
      if (q == rank_) continue;
      MPI_Request notice = MPI_REQUEST_NULL;
      if (MPI_Isend(nullptr, 0, MPI_BYTE, q, tags_.fold(notice_tag()), comm_, &notice) ==
          MPI_SUCCESS)
        MPI_Request_free(&notice);
    }
  }

  static void cancel_one(MPI_Request& request) noexcept {
    if (request == MPI_REQUEST_NULL) return;
    MPI_Cancel(&request);
    // A cancelled receive completes locally. A send may not be cancellable (its data may already
    // be on the way); poll briefly, then let MPI finish it in the background.
    const auto give_up = Clock::now() + std::chrono::milliseconds(50);
    int flag = 0;
    while (MPI_Test(&request, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && !flag &&
           Clock::now() < give_up)
      std::this_thread::yield();
    if (!flag && request != MPI_REQUEST_NULL) MPI_Request_free(&request);
    request = MPI_REQUEST_NULL;
  }

  // Destroying a pending request cancels it (an error path: some wait already threw).
  void cancel() noexcept {
    cancel_one(first_);
    for (auto& r : more_) cancel_one(r);
  }

  Kind kind_ = Kind::send;
  int rank_ = 0;
  int peer_ = 0;
  Tag tag_{};
  std::size_t expected_ = 0;
  std::size_t transferred_ = 0;
  MPI_Comm comm_ = MPI_COMM_NULL;
  TagFold tags_{32767u};
  int probed_ = 0;  // the rank look_for_other_calls() probed last, besides the peer
  MPI_Request first_ = MPI_REQUEST_NULL;
  std::vector<MPI_Request> more_;
};

}  // namespace colt::mpi
