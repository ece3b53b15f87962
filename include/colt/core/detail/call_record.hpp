#pragma once
// One entry of the flight recorder's rings (core/flight_recorder.hpp): a call's fields as relaxed
// atomics, its state, and the thread-local pointers through which a wait or a queued call finds
// its entry.

#include <atomic>
#include <cstdint>
#include <string_view>

#include "colt/core/call_descriptor.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"

namespace colt {

// Where a recorded call is.
// queued: handed to the communicator's progress thread behind calls started before it.
// waiting: running, and past the watchdog's threshold in a wait for one peer (`peer`).
enum class CallState : std::uint8_t { queued, running, waiting, finished, failed };

constexpr std::string_view name_of(CallState state) noexcept {
  switch (state) {
    case CallState::queued: return "queued";
    case CallState::running: return "running";
    case CallState::waiting: return "waiting";
    case CallState::finished: return "finished";
    case CallState::failed: return "failed";
  }
  return "unknown";
}

namespace detail {

// One call. Written by the thread running the call, read by any (relaxed: a dump is a snapshot,
// and `sequence` tells a torn read).
struct CallRecord {
  std::atomic<std::uint64_t> sequence{0};     // the entry's number in the ring, from 1; 0: unused
  std::atomic<std::uint32_t> call{0};         // the call's number on its communicator (its tag's)
  std::atomic<std::uint8_t> kind{0};          // CollectiveKind
  std::atomic<std::uint8_t> type{0xFF};       // DataType, 0xFF: untyped
  std::atomic<std::uint8_t> algorithm{0};     // as requested, then as planned
  std::atomic<std::uint8_t> state{0};         // CallState
  std::atomic<std::uint8_t> error{0};         // ErrorKind, when failed
  std::atomic<std::uint8_t> flags{0};         // the *_flag bits below
  std::atomic<std::int32_t> root{no_root};    // a message's: its user tag; a split's: its color
  std::atomic<std::int32_t> peer{no_peer};    // a message's peer, or the peer a failure named
  std::atomic<std::uint32_t> op{0};           // CallDescriptor::op
  std::atomic<std::uint64_t> count{0};        // a message's bytes; a split's key; a shrink's failed
  std::atomic<std::uint64_t> begin_ticks{0};  // trace_ticks(); 0: not read (see begin)
  std::atomic<std::uint64_t> end_ticks{0};    // trace_ticks(); 0: not read (see finished)

  // unnumbered: queued, not begun, so no call number yet. shrink: a shrink (kind split), which
  // takes no call number; `call` is the one the next call would get. dequeued: a queued entry
  // whose call began (and has an entry of its own among the calls).
  static constexpr std::uint8_t started_flag = 1, v_form_flag = 2, receive_flag = 4,
                                unnumbered_flag = 8, shrink_flag = 16, dequeued_flag = 32;
};

// The entry of the call this thread is running (set by run_call and the blocking messages;
// null outside them): where a wait that the watchdog flags notes whom it waits on.
inline thread_local CallRecord* call_on_this_thread = nullptr;

// Makes `record` this thread's call for a scope (a blocking message's wait).
class ThisThreadsCall {
 public:
  explicit ThisThreadsCall(CallRecord* record) : saved_(call_on_this_thread) {
    call_on_this_thread = record;
  }
  ThisThreadsCall(const ThisThreadsCall&) = delete;
  ThisThreadsCall& operator=(const ThisThreadsCall&) = delete;
  ~ThisThreadsCall() { call_on_this_thread = saved_; }

 private:
  CallRecord* saved_;
};

// An entry and the number it was given. A started message may outlive its entry (the ring moves
// on while it waits), and must then leave the entry to the call that reuses it.
struct RecordHandle {
  CallRecord* record = nullptr;
  std::uint64_t sequence = 0;
  CallRecord* live() const noexcept {
    return record && record->sequence.load(std::memory_order_relaxed) == sequence ? record
                                                                                  : nullptr;
  }
};

// The queued entry of the call this thread is about to run (a progress thread's task, set by
// run_queued): the call's begin retires it as it writes the call's own entry.
inline thread_local RecordHandle queued_call_on_this_thread{};

}  // namespace detail

}  // namespace colt
