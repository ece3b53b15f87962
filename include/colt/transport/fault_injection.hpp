#pragma once
// faults::Injector<T>: a transport decorator that makes things go wrong on purpose, so tests
// (colt's and yours) can prove that a delay, a lost, duplicated or corrupted message, or a dying
// rank ends in a correct result or a clear colt::Error, never a hang or a wrong answer.
//
//   faults::Plan plan{{{.action = faults::Action::drop, .rank = 1, .peer = 2, .message = 3}}};
//   colt::Communicator<faults::Injector<inprocess::Transport>> comm(
//       faults::Injector(world.transport(), plan), options);
//
// Faults act where a real network or a real crash would: on the sending side of one message
// (the message-th, counting from 0, that `rank` sends to `peer`), or on a whole rank (`die`). A
// corrupted message is sent from a private copy with one bit flipped; the caller's buffer is
// never touched. Everything else is forwarded unchanged, including zero-copy receives, splits
// (which keep the plan, with counts of their own) and abort.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"

namespace colt::faults {

enum class Action : std::uint8_t {
  delay,      // the message is sent `delay` late
  drop,       // the message is never sent; the sender believes it was
  duplicate,  // the message is sent twice
  corrupt,    // one bit of the message is flipped in transit
  die,        // the rank dies when it starts its message-th call (counted from 0)
};

inline constexpr int any_peer = -1;

struct Fault {
  Action action = Action::delay;
  int rank = 0;               // the rank that sends the message (or dies)
  int peer = any_peer;        // the message's destination; any_peer counts all of them together
  std::uint64_t message = 0;  // which message (or, for die, which call), from 0
  std::chrono::milliseconds delay{0};
};

struct Plan {
  std::vector<Fault> faults;
  // How `die` kills: false throws a colt::Error out of the rank's call (in-process ranks are
  // threads: the thread ends, and whatever runs it decides whom to tell); true ends the process
  // at once with std::_Exit, like a crash (for ranks that are processes).
  bool die_exits_process = false;
};

inline std::string_view name_of(Action action) noexcept {
  switch (action) {
    case Action::delay: return "delay";
    case Action::drop: return "drop";
    case Action::duplicate: return "duplicate";
    case Action::corrupt: return "corrupt";
    case Action::die: return "die";
  }
  return "unknown";
}

template <Transport T>
class Injector {
 public:
  using inner_request = decltype(std::declval<T&>().isend(0, std::span<const std::byte>{}, Tag{}));

  class Request {
   public:
    Request() = default;
    explicit Request(inner_request request) : request_(std::move(request)) {}
    static Request dropped(std::size_t bytes) {
      Request r;
      r.dropped_bytes_ = bytes;
      return r;
    }

    std::size_t wait(const Deadline& deadline) {
      if (!request_) return dropped_bytes_;
      return request_->wait(deadline);
    }
    bool test() { return !request_ || request_->test(); }

   private:
    friend class Injector;
    // The copy a corrupted message is sent from; declared first so it outlives the requests
    // (a vector's heap buffer stays put when the request moves).
    std::vector<std::byte> copy_;
    std::optional<inner_request> request_;
    std::optional<inner_request> duplicate_;  // never waited for; cancelled when dropped
    std::size_t dropped_bytes_ = 0;
  };

  // The transport it wraps, in logs and flight-recorder dumps.
  static constexpr std::string_view name = [] {
    if constexpr (requires { T::name; })
      return T::name;
    else
      return std::string_view("unknown");
  }();

  Injector(T inner, Plan plan)
      : Injector(std::move(inner), std::make_shared<const Plan>(std::move(plan))) {}

  int rank() const { return static_cast<int>(inner_.rank()); }
  int size() const { return static_cast<int>(inner_.size()); }
  T& inner() { return inner_; }
  // How many faults this rank has injected so far (a test's proof that its fault happened).
  int injected() const { return injected_; }

  Request isend(int peer, std::span<const std::byte> data, Tag tag) {
    start_operation(tag);
    const bool in_range = peer >= 0 && peer < size();
    const std::uint64_t to_peer = in_range ? sent_[static_cast<std::size_t>(peer)]++ : 0;
    const std::uint64_t to_any = sent_total_++;
    const Fault* fault = nullptr;
    for (const Fault& f : plan_->faults)
      if (f.action != Action::die && f.rank == rank() &&
          ((f.peer == any_peer && f.message == to_any) ||
           (in_range && f.peer == peer && f.message == to_peer)))
        fault = &f;
    if (!fault) return Request(inner_.isend(peer, data, tag));
    ++injected_;
    switch (fault->action) {
      case Action::delay:
        std::this_thread::sleep_for(fault->delay);
        return Request(inner_.isend(peer, data, tag));
      case Action::drop: return Request::dropped(data.size());
      case Action::duplicate: {
        Request r(inner_.isend(peer, data, tag));
        r.duplicate_.emplace(inner_.isend(peer, data, tag));
        return r;
      }
      case Action::corrupt: {
        Request r;
        r.copy_.assign(data.begin(), data.end());
        if (!r.copy_.empty()) r.copy_[r.copy_.size() / 2] ^= std::byte{0x10};
        r.request_.emplace(inner_.isend(peer, std::span<const std::byte>(r.copy_), tag));
        return r;
      }
      case Action::die: break;
    }
    return Request(inner_.isend(peer, data, tag));
  }

  Request irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    start_operation(tag);
    return Request(inner_.irecv(peer, buffer, tag));
  }

  auto irecv_view(int peer, Tag tag)
    requires ViewTransport<T>
  {
    start_operation(tag);
    return inner_.irecv_view(peer, tag);
  }

  Injector split(int color, int key, Tag tag, const Deadline& deadline)
    requires SplittableTransport<T>
  {
    start_operation(tag);
    return Injector(inner_.split(color, key, tag, deadline), plan_);
  }

  void abort(const std::string& cause) noexcept
    requires AbortableTransport<T>
  {
    inner_.abort(cause);
  }
  void note_failure() noexcept
    requires FailureAwareTransport<T>
  {
    inner_.note_failure();
  }

 private:
  Injector(T inner, std::shared_ptr<const Plan> plan)
      : inner_(std::move(inner)), plan_(std::move(plan)) {
    sent_.assign(static_cast<std::size_t>(inner_.size()), 0);
  }

  // Counts calls (a new collective shows as a new kind or sequence number in the tag) and dies
  // where the plan says so.
  void start_operation(Tag tag) {
    const std::uint32_t call = tag.value >> Tag::sequence_shift;
    if (!last_call_ || *last_call_ != call) {
      last_call_ = call;
      const std::uint64_t index = calls_++;
      for (const Fault& f : plan_->faults)
        if (f.action == Action::die && f.rank == rank() && f.message == index) {
          ++injected_;
          if (plan_->die_exits_process) std::_Exit(3);
          throw Error(ErrorKind::aborted, Operation::unnamed, Error::Rank{rank()},
                      "injected fault: rank " + std::to_string(rank()) + " died at its call #" +
                          std::to_string(index));
        }
    }
  }

  T inner_;
  std::shared_ptr<const Plan> plan_;
  std::vector<std::uint64_t> sent_;  // messages sent to each peer so far
  std::uint64_t sent_total_ = 0;
  std::uint64_t calls_ = 0;
  std::optional<std::uint32_t> last_call_;
  int injected_ = 0;
};

}  // namespace colt::faults
