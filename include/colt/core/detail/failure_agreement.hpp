#pragma once
// How the survivors of a failure agree on which ranks failed, bounded in time and tolerant of
// more failures while they agree (ULFM's MPIX_Comm_agree/shrink, NCCL's ncclCommShrink decides
// nothing: its caller names the ranks to drop). Every live rank runs it after the failed call
// was revoked (the transport aborted), over the transport's recovery channel: point-to-point
// messages that the abort does not end and whose sends complete without their receiver.
//
// Rounds of flooding. In each round every rank sends what it knows (the ranks it believes
// failed, and the largest proposal seen: UCX's next context id) to every rank it believes alive,
// and waits for the same from each of them. A peer that fails, times out, or is reported failed
// by another peer is added to the set. A rank decides when a round taught it nothing (all the
// records it received equal its own, nothing failed), and posts its decision to every other
// rank. Every rank looks for posted decisions while it waits, and adopts the first it finds. So
// ranks never decide differently: one that missed a failure during the last round, or fell
// behind, adopts the others' decision (the new group may then hold a dead rank, which its first
// call finds, and the survivors shrink again), instead of splitting the survivors in two.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"

namespace colt::detail {

struct AgreedFailures {
  std::vector<int> failed;     // ranks of the communicator, ascending
  std::uint32_t proposal = 0;  // the largest proposal of the ranks that agreed
};

// A round's record, in 64-bit words: flags, proposal, then a bit per rank (set: failed).
class FailureRecord {
 public:
  // The sender already waited a whole timeout for a silent peer (its call timed out): the ranks
  // alive have since been told (the revoke), so nobody waits another whole timeout for answers.
  static constexpr std::uint64_t waited_flag = 1;

  explicit FailureRecord(int ranks) : words_(2 + (static_cast<std::size_t>(ranks) + 63) / 64) {}

  bool waited() const { return words_[0] & waited_flag; }
  void set_waited() { words_[0] |= waited_flag; }
  std::uint32_t proposal() const { return static_cast<std::uint32_t>(words_[1]); }
  void propose(std::uint32_t p) { words_[1] = std::max<std::uint64_t>(words_[1], p); }

  bool failed(int r) const { return (words_[2 + bit_word(r)] >> (r % 64)) & 1; }
  void set_failed(int r) { words_[2 + bit_word(r)] |= std::uint64_t{1} << (r % 64); }

  // Takes in what `other` knows; true when it taught this record something.
  bool merge(const FailureRecord& other) {
    bool learned = other.proposal() > proposal();
    propose(other.proposal());
    for (std::size_t w = 2; w < words_.size(); ++w) {
      learned |= (other.words_[w] & ~words_[w]) != 0;
      words_[w] |= other.words_[w];
    }
    return learned;
  }
  bool same_knowledge(const FailureRecord& other) const {
    return std::equal(words_.begin() + 1, words_.end(), other.words_.begin() + 1);
  }
  void adopt(const FailureRecord& other) { words_ = other.words_; }

  std::span<std::uint64_t> words() { return words_; }

 private:
  static std::size_t bit_word(int r) { return static_cast<std::size_t>(r) / 64; }
  std::vector<std::uint64_t> words_;
};

// What a rank brings to the agreement.
struct AgreementStart {
  std::span<const int> known;  // ranks this rank saw fail
  std::uint32_t proposal = 0;  // its proposal (the transport's successor_proposal)
  bool waited = false;         // its call timed out: it waited a whole timeout already
  Clock::duration timeout{};   // the longest wait for a rank that neither answers nor fails
  Clock::duration grace{};     // the wait for answers once some rank has waited a timeout
};

// The agreement between one rank and the others over `channel` (rank(), size(), isend, irecv:
// see above), in rounds until every rank it hears from knows what it knows, or until a decision
// arrives.
template <class Channel>
class FailureAgreement {
 public:
  FailureAgreement(Channel& channel, const AgreementStart& how)
      : channel_(channel),
        size_(channel.size()),
        me_(channel.rank()),
        grace_(how.grace),
        mine_(size_),
        give_up_(Clock::now() + (how.waited ? how.grace : how.timeout)),
        decisions_(static_cast<std::size_t>(size_), FailureRecord(size_)),
        decision_receives_(static_cast<std::size_t>(size_)) {
    mine_.propose(how.proposal);
    for (const int r : how.known) mine_.set_failed(r);
    if (how.waited) mine_.set_waited();
    for (int q = 0; q < size_; ++q)
      if (q != me_)
        decision_receives_[index(q)].emplace(
            channel_.irecv(q, std::as_writable_bytes(decisions_[index(q)].words()), decision_tag));
  }

  AgreedFailures run() {
    for (std::uint32_t round = 0; round < max_rounds; ++round) {
      if (mine_.failed(me_)) throw excluded();
      const FailureRecord* decision = nullptr;
      if (!exchange(round, decision) && !decision) continue;
      if (decision) {
        mine_.adopt(*decision);
        if (mine_.failed(me_)) throw excluded();
      }
      Outgoing last = send_to_live(mine_, decision_tag, true);
      finish_sends(last);
      AgreedFailures agreed;
      for (int r = 0; r < size_; ++r)
        if (mine_.failed(r)) agreed.failed.push_back(r);
      agreed.proposal = mine_.proposal();
      return agreed;
    }
    throw Error(ErrorKind::internal, Operation::shrink, Error::Rank{me_},
                "the failure agreement did not end");
  }

 private:
  using Request = decltype(std::declval<Channel&>().irecv(0, std::span<std::byte>{}, Tag{}));

  // A rank that decides posts its decision under a tag of its own to every other rank, even
  // those it believes failed; every rank looks for decisions between rounds. So a rank that is
  // behind (or was declared failed while it was silent) adopts the decision the others reached
  // instead of reaching its own from the stale records of their first rounds.
  static constexpr std::uint32_t max_rounds = 1 << 14;  // the recovery channel's tags hold a round
  static constexpr Tag decision_tag{max_rounds};

  // A record on its way to the live ranks: the copy sent stays alive with the sends (a transport
  // may read it until they complete).
  struct Outgoing {
    std::unique_ptr<FailureRecord> record;
    std::vector<Request> sends;
  };

  static std::size_t index(int q) { return static_cast<std::size_t>(q); }

  Error excluded() const {
    return Error(ErrorKind::peer_failed, Operation::shrink, Error::Rank{me_},
                 "the other ranks declared this rank failed: it did not answer their agreement "
                 "within the timeout");
  }

  // Sends `record` to every rank it does not list as failed, or with `to_all` to every rank.
  Outgoing send_to_live(const FailureRecord& record, Tag tag, bool to_all) {
    Outgoing out{std::make_unique<FailureRecord>(record), {}};
    for (int q = 0; q < size_; ++q) {
      if (q == me_ || (!to_all && record.failed(q))) continue;
      try {
        out.sends.push_back(channel_.isend(q, std::as_bytes(out.record->words()), tag));
      } catch (const Error&) {  // a dead peer: the receive side finds it
      }
    }
    return out;
  }

  void finish_sends(Outgoing& out) {
    const Deadline flush = Deadline::after(grace_);
    for (auto& s : out.sends) {
      try {
        s.wait(flush);
      } catch (const Error&) {  // its receiver is gone; nothing to tell it
      }
    }
    out.sends.clear();
  }

  // A decision that has arrived, if any.
  const FailureRecord* find_decision() {
    for (int q = 0; q < size_; ++q) {
      auto& receive = decision_receives_[index(q)];
      if (!receive) continue;
      try {
        if (!receive->test()) continue;
      } catch (const Error&) {  // gone without deciding
        receive.reset();
        continue;
      }
      receive.reset();
      return &decisions_[index(q)];
    }
    return nullptr;
  }

  // One round: this rank's record to the live ranks, theirs merged into it. True when the round
  // settled it (nobody learned anything, and every record was the same); `decision` is set when
  // another rank's decision arrived.
  bool exchange(std::uint32_t round, const FailureRecord*& decision) {
    const FailureRecord start = mine_;
    Outgoing sends = send_to_live(start, Tag{round}, false);
    std::vector<FailureRecord> records(static_cast<std::size_t>(size_), FailureRecord(size_));
    std::vector<std::optional<Request>> receives(static_cast<std::size_t>(size_));
    for (int q = 0; q < size_; ++q)
      if (q != me_ && !start.failed(q))
        receives[index(q)].emplace(
            channel_.irecv(q, std::as_writable_bytes(records[index(q)].words()), Tag{round}));
    // Never less than `grace` for a round: the rounds after a timeout run between ranks that
    // answer.
    const Clock::time_point round_start = Clock::now();
    const auto deadline_passed = [&] {
      return Clock::now() >= std::max(give_up_, round_start + grace_);
    };
    bool learned = false, all_same = true;
    auto nap = std::chrono::microseconds(10);
    for (int open = 1; open > 0 && !decision;) {
      open = 0;
      for (int q = 0; q < size_; ++q) {
        auto& receive = receives[index(q)];
        if (!receive) continue;
        if (mine_.failed(q)) {  // reported failed by another peer: stop waiting for it
          receive.reset();
          continue;
        }
        try {
          if (!receive->test()) {
            if (deadline_passed())
              throw Error(ErrorKind::timeout, Operation::unnamed, Error::Rank{me_}, Error::Peer{q},
                          "no answer");
            ++open;
            continue;
          }
        } catch (const Error&) {
          receive.reset();
          mine_.set_failed(q);
          learned = true;
          continue;
        }
        receive.reset();
        const FailureRecord& got = records[index(q)];
        all_same &= got.same_knowledge(start);
        learned |= mine_.merge(got);
        if (got.waited() && !mine_.waited()) {
          mine_.set_waited();
          give_up_ = std::min(give_up_, Clock::now() + grace_);
        }
      }
      decision = find_decision();
      if (open > 0 && !decision) {
        std::this_thread::sleep_for(nap);
        nap = std::min(2 * nap, std::chrono::microseconds(500));
      }
    }
    receives.clear();
    finish_sends(sends);
    if (!decision) decision = find_decision();
    return !learned && all_same;
  }

  Channel& channel_;
  const int size_;
  const int me_;
  const Clock::duration grace_;
  FailureRecord mine_;
  // A rank that neither answers nor is seen to fail is declared failed at `give_up_`.
  Clock::time_point give_up_;
  std::vector<FailureRecord> decisions_;
  std::vector<std::optional<Request>> decision_receives_;
};

// Runs the agreement on `channel`. Throws colt::Error kind peer_failed when the others declared
// this rank failed (it did not answer in time).
template <class Channel>
AgreedFailures agree_on_failures(Channel& channel, const AgreementStart& how) {
  return FailureAgreement<Channel>(channel, how).run();
}

}  // namespace colt::detail
