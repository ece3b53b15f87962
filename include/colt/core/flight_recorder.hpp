#pragma once
// The flight recorder: every communicator keeps its last calls in a ring of fixed size, so that
// when a job stalls or fails each rank can say which call it was in, since when, and how its
// earlier calls went (PyTorch's Flight Recorder for NCCL does the same on top of it). Each rank
// writes its ring as JSON lines (`write_trace`); tools/colt-trace reads the files of a whole
// job and names the rank that never arrived, the calls that differ, the rank that died first or
// the rank that is late (docs/debugging-hangs.md).
//
// The ring is allocated on the first call and then reused: recording allocates nothing. Only the
// thread that runs a communicator's calls writes it (the caller's, or its progress thread's,
// handed over through the progress engine's queue). Messages, which any thread may send, have a
// ring of their own, written under a mutex. A dump may read both from another thread
// (comm.dump_trace while a started call hangs): every field is a relaxed atomic, and a reader
// skips an entry whose sequence number changed while it read it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include "colt/core/algorithm_name.hpp"
#include "colt/core/call_descriptor.hpp"
#include "colt/core/detail/call_record.hpp"
#include "colt/core/detail/trace_clock.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/types.hpp"

namespace colt {

class FlightRecorder {
 public:
  static constexpr std::size_t default_capacity = 1024;

  // capacity 0: records nothing.
  explicit FlightRecorder(std::size_t capacity = default_capacity) : capacity_(capacity) {}

  bool enabled() const noexcept { return capacity_ > 0; }
  std::size_t capacity() const noexcept { return capacity_; }

  // One collective in this many (those whose call number is a multiple of it: the same calls on
  // every rank) reads the clock as it begins. On this project's VM a clock read on a call's
  // path cost about 23 ns, 3-4% of a 2-rank 8-byte all_reduce (the time-stamp counter; the
  // system clock costs more); one in 8 costs 3 ns. A dump brackets each other call between the
  // clock reads around it (`begin_after_ns`, `finished_by_ns`); which rank enters calls late is
  // measured on the timed ones, and a hang's "since when" is the watchdog's to say.
  static constexpr std::uint32_t timed_every = 8;

  // A call begins; returns its entry (null when recording is off). `started`: it runs on the
  // communicator's progress thread (a started call, or a blocking one queued behind them). A
  // call queued there retires the entry `queue` wrote for it, and takes its started flag.
  detail::CallRecord* begin(const CallDescriptor& d, std::uint32_t call, bool started) {
    if (!capacity_) return nullptr;
    if (detail::queued_call_on_this_thread.record) [[unlikely]] {
      if (detail::CallRecord* queued =
              std::exchange(detail::queued_call_on_this_thread, {}).live()) {
        const auto was = queued->flags.load(std::memory_order_relaxed);
        started = (was & detail::CallRecord::started_flag) != 0;
        queued->flags.store(static_cast<std::uint8_t>(was | detail::CallRecord::dequeued_flag),
                            std::memory_order_release);
      }
    }
    const auto flags = static_cast<std::uint8_t>((started ? detail::CallRecord::started_flag : 0) |
                                                 (d.v_form ? detail::CallRecord::v_form_flag : 0));
    return record(calls_, call, d.kind, d.typed ? static_cast<std::uint8_t>(d.type) : untyped,
                  static_cast<std::uint8_t>(d.algorithm), flags, d.root, no_peer, d.op, d.count,
                  call % timed_every == 0, CallState::running)
        .record;
  }

  // A call of `kind` handed to the progress thread behind others: an entry of its own, queued,
  // in a ring of queued calls that the thread handing it over writes, under a mutex (the
  // collectives' ring has one writer, the thread running the calls: here the progress thread,
  // which may be writing it now). `begin` retires the entry as the call starts there.
  // `started`: a started call (iall_reduce, ...), not a blocking one that waits its turn.
  detail::RecordHandle queue(CollectiveKind kind, bool started) {
    if (!capacity_) return {};
    std::lock_guard lock(message_mutex_);
    const auto flags = static_cast<std::uint8_t>(detail::CallRecord::unnumbered_flag |
                                                 (started ? detail::CallRecord::started_flag : 0));
    return record(queued_, 0, kind, untyped, 0, flags, no_root, no_peer, 0, 0, false,
                  CallState::queued);
  }

  // A shrink (Communicator::shrink) on the thread that runs the communicator's calls: `call` is
  // the number the next call would have had; `failed` ranks, the first of them `first_failed`.
  void shrank(std::uint32_t call, std::size_t failed, int first_failed) {
    if (!capacity_) return;
    record(calls_, call, CollectiveKind::split, untyped, 0, detail::CallRecord::shrink_flag,
           no_root, failed ? first_failed : no_peer, 0, failed, true, CallState::finished);
  }

  // A point-to-point message begins: `receive` or a send of `bytes` to or from `peer` with the
  // user's `tag`. `call` is the communicator's call count then (the sequence number its next
  // collective gets), which places the message among the collectives.
  detail::RecordHandle begin_message(bool receive, int peer, int tag, std::size_t bytes,
                                     std::uint32_t call, bool started) {
    if (!capacity_) return {};
    std::lock_guard lock(message_mutex_);
    const auto flags = static_cast<std::uint8_t>((started ? detail::CallRecord::started_flag : 0) |
                                                 (receive ? detail::CallRecord::receive_flag : 0));
    return record(messages_, call, CollectiveKind::point_to_point, untyped, 0, flags, tag, peer, 0,
                  bytes, true, CallState::running);
  }

  // The call running on this thread has waited past the watchdog's threshold for `peer`.
  static void waiting_on(int peer) noexcept {
    detail::CallRecord* r = detail::call_on_this_thread;
    if (!r || peer == no_peer) return;
    r->peer.store(peer, std::memory_order_relaxed);
    r->state.store(static_cast<std::uint8_t>(CallState::waiting), std::memory_order_release);
  }

  static void planned(detail::CallRecord* r, Algorithm algorithm) noexcept {
    if (r) r->algorithm.store(static_cast<std::uint8_t>(algorithm), std::memory_order_relaxed);
  }
  // A collective finished. Its end is not timed: a second clock read per call cost 3-4% of a
  // 2-rank 8-byte all_reduce (on this project's VM, where each read on the call's path costs
  // about 23 ns), and calls on one communicator run one after another, so the next call's
  // begin (or the dump's time) bounds it; the dump writes that bound as `finished_by_ns`.
  static void finished(detail::CallRecord* r) noexcept {
    if (r)
      r->state.store(static_cast<std::uint8_t>(CallState::finished), std::memory_order_release);
  }
  // A message finished: timed, since a started message may finish after later calls began.
  static void finished_message(detail::CallRecord* r) noexcept {
    if (!r) return;
    r->end_ticks.store(detail::trace_ticks(), std::memory_order_relaxed);
    r->state.store(static_cast<std::uint8_t>(CallState::finished), std::memory_order_release);
  }
  static void failed(detail::CallRecord* r, const Error& e) noexcept {
    if (!r) return;
    r->end_ticks.store(detail::trace_ticks(), std::memory_order_relaxed);
    r->error.store(static_cast<std::uint8_t>(e.kind()), std::memory_order_relaxed);
    if (e.peer() != no_peer) r->peer.store(e.peer(), std::memory_order_relaxed);
    r->state.store(static_cast<std::uint8_t>(CallState::failed), std::memory_order_release);
  }
  static void failed(detail::CallRecord* r) noexcept {  // not a colt::Error
    if (!r) return;
    r->end_ticks.store(detail::trace_ticks(), std::memory_order_relaxed);
    r->error.store(static_cast<std::uint8_t>(ErrorKind::internal), std::memory_order_relaxed);
    r->state.store(static_cast<std::uint8_t>(CallState::failed), std::memory_order_release);
  }

  // Calls recorded so far (the ring holds the last `capacity` of them).
  std::uint64_t recorded() const noexcept { return calls_.next.load(std::memory_order_acquire); }

  // One JSON object per line, oldest call first, for every entry still in the ring.
  void write_calls(std::ostream& out) const;

 private:
  static constexpr std::uint8_t untyped = 0xFF;

  // Entries and their writer's place: one ring for collectives (written by the one thread that
  // runs the communicator's calls at a time), one for messages (which any thread may send, so
  // they take message_mutex_ to write; a collective never waits for it).
  struct Ring {
    std::unique_ptr<detail::CallRecord[]> entries;
    std::size_t slot = 0;                // where entry next + 1 goes: next % capacity
    std::atomic<std::uint64_t> next{0};  // entries written so far
  };

  // Fills the next entry of `ring`; a reader skips it until its sequence number is published.
  detail::RecordHandle record(Ring& ring, std::uint32_t call, CollectiveKind kind,
                              std::uint8_t type, std::uint8_t algorithm, std::uint8_t flags,
                              int root, int peer, std::uint32_t op, std::uint64_t count, bool timed,
                              CallState state) {
    if (!ring.entries) ring.entries = std::make_unique<detail::CallRecord[]>(capacity_);
    const std::uint64_t n = ring.next.load(std::memory_order_relaxed) + 1;
    detail::CallRecord& r = ring.entries[ring.slot];
    ring.slot = ring.slot + 1 == capacity_ ? 0 : ring.slot + 1;  // not a division: 5 ns
    r.sequence.store(0, std::memory_order_relaxed);
    constexpr auto relaxed = std::memory_order_relaxed;
    r.call.store(call, relaxed);
    r.kind.store(static_cast<std::uint8_t>(kind), relaxed);
    r.type.store(type, relaxed);
    r.algorithm.store(algorithm, relaxed);
    r.error.store(0, relaxed);
    r.flags.store(flags, relaxed);
    r.root.store(root, relaxed);
    r.peer.store(peer, relaxed);
    r.op.store(op, relaxed);
    r.count.store(count, relaxed);
    r.begin_ticks.store(timed ? detail::trace_ticks() : 0, relaxed);
    r.end_ticks.store(0, relaxed);
    r.state.store(static_cast<std::uint8_t>(state), std::memory_order_release);
    r.sequence.store(n, std::memory_order_release);
    ring.next.store(n, std::memory_order_release);
    return {&r, n};
  }

  // Entry n (from 1) of a ring, or null when the ring has moved past it or is rewriting it.
  const detail::CallRecord* entry(const Ring& ring, std::uint64_t n) const {
    const detail::CallRecord& r = ring.entries[(n - 1) % capacity_];
    return r.sequence.load(std::memory_order_acquire) == n ? &r : nullptr;
  }
  // One entry's JSON line (without its newline); `after` and `finished_by` bracket an untimed
  // collective (see timed_every).
  std::string line_of(const detail::CallRecord& r, const detail::TraceClock::Scale& to_ns,
                      std::uint64_t after, std::uint64_t finished_by) const;

  std::size_t capacity_;
  detail::TraceClock clock_;
  Ring calls_, messages_, queued_;
  std::mutex message_mutex_;
};

namespace detail {

// `text` as a JSON string, quotes included.
inline std::string json_string(std::string_view text) {
  std::string s = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      s += '\\';
      s += c;
    } else if (u < 0x20) {
      char escaped[8];
      (void)std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
      s += escaped;
    } else {
      s += c;
    }
  }
  return s + "\"";
}

}  // namespace detail

inline std::string FlightRecorder::line_of(const detail::CallRecord& r,
                                           const detail::TraceClock::Scale& to_ns,
                                           std::uint64_t after, std::uint64_t finished_by) const {
  constexpr auto relaxed = std::memory_order_relaxed;
  const auto kind = static_cast<CollectiveKind>(r.kind.load(relaxed));
  const std::uint8_t flags = r.flags.load(relaxed);
  const auto state = static_cast<CallState>(r.state.load(std::memory_order_acquire));
  // A queued call has no number yet; a shrink takes none (its `call` is the next call's).
  std::string line = "{";
  if (!(flags & detail::CallRecord::unnumbered_flag))
    line += std::string((flags & detail::CallRecord::shrink_flag) ? "\"next_seq\":" : "\"seq\":") +
            std::to_string(r.call.load(relaxed)) + ",";
  if (flags & detail::CallRecord::shrink_flag) {
    line += "\"call\":\"shrink\",\"failed_ranks\":" + std::to_string(r.count.load(relaxed));
    if (const int first = r.peer.load(relaxed); first != no_peer)
      line += ",\"first_failed\":" + std::to_string(first);
  } else if (kind == CollectiveKind::split) {
    line += "\"call\":\"split\",\"color\":" + std::to_string(r.root.load(relaxed)) +
            ",\"key\":" + std::to_string(static_cast<std::int64_t>(r.count.load(relaxed)));
  } else if (kind == CollectiveKind::point_to_point) {
    const bool receive = (flags & detail::CallRecord::receive_flag) != 0;
    line += std::string("\"call\":") + (receive ? "\"recv\"" : "\"send\"") +
            ",\"p2p\":true,\"peer\":" + std::to_string(r.peer.load(relaxed)) +
            ",\"tag\":" + std::to_string(r.root.load(relaxed)) +
            ",\"bytes\":" + std::to_string(r.count.load(relaxed));
  } else if (flags & detail::CallRecord::unnumbered_flag) {  // not begun: its kind only
    line += "\"call\":" + detail::json_string(name_of(operation_of(kind, false)));
  } else {
    CallDescriptor d;
    d.kind = kind;
    const std::uint8_t type = r.type.load(relaxed);
    d.typed = type != untyped;
    if (d.typed) d.type = static_cast<DataType>(type);
    d.op = r.op.load(relaxed);
    d.root = r.root.load(relaxed);
    d.count = r.count.load(relaxed);
    d.v_form = (flags & detail::CallRecord::v_form_flag) != 0;
    const auto algorithm = static_cast<Algorithm>(r.algorithm.load(relaxed));
    line += "\"call\":" + detail::json_string(call_name(d)) +
            ",\"type\":" + detail::json_string(d.typed ? name_of(d.type) : "") +
            ",\"count\":" + std::to_string(d.count) + ",\"root\":" + std::to_string(d.root) +
            ",\"op\":" + detail::json_string(detail::op_name(d.op)) +
            ",\"algorithm\":" + detail::json_string(name_of(algorithm));
  }
  line += std::string(",\"started\":") +
          ((flags & detail::CallRecord::started_flag) ? "true" : "false");
  if (const std::uint64_t begin = r.begin_ticks.load(relaxed); begin != 0)
    line += ",\"begin_ns\":" + std::to_string(to_ns(begin));
  else if (after != 0 && !(flags & detail::CallRecord::unnumbered_flag))
    line += ",\"begin_after_ns\":" + std::to_string(to_ns(after));
  if (const std::uint64_t end = r.end_ticks.load(relaxed); end != 0)
    line += ",\"end_ns\":" + std::to_string(to_ns(end));
  else if (state == CallState::finished && kind != CollectiveKind::point_to_point &&
           !(flags & detail::CallRecord::unnumbered_flag))
    line += ",\"finished_by_ns\":" + std::to_string(to_ns(finished_by));
  line += ",\"state\":" + detail::json_string(name_of(state));
  if (state == CallState::waiting)
    line += ",\"waiting_on\":" + std::to_string(r.peer.load(relaxed));
  if (state == CallState::failed) {
    line +=
        ",\"error\":" + detail::json_string(name_of(static_cast<ErrorKind>(r.error.load(relaxed))));
    const int peer = r.peer.load(relaxed);
    if (peer != no_peer && kind != CollectiveKind::point_to_point)
      line += ",\"peer\":" + std::to_string(peer);
  }
  return line + "}";
}

inline void FlightRecorder::write_calls(std::ostream& out) const {
  constexpr auto relaxed = std::memory_order_relaxed;
  // Entries first..last of a ring. `next` first: its release follows the ring's allocation.
  const auto span_of = [&](const Ring& ring) {
    const std::uint64_t last = ring.next.load(std::memory_order_acquire);
    return std::pair{last > capacity_ ? last - capacity_ + 1 : 1, last};
  };
  // Plain variables, not structured bindings: clang 14 cannot capture those in a lambda.
  const std::pair call_span = span_of(calls_), message_span = span_of(messages_);
  const std::uint64_t first = call_span.first, last = call_span.second;
  const std::uint64_t message_first = message_span.first, message_last = message_span.second;
  const detail::TraceClock::Scale to_ns = clock_.now();
  // The clock reads around each collective: the last one before it began (a timed begin, or a
  // failure's end) and, for a finished one, the first timed begin after it (or the dump's
  // time), since the collectives of one communicator run one after another.
  const std::size_t calls = last >= first ? last - first + 1 : 0;
  std::vector<std::uint64_t> after(calls, 0), finished_by(calls, 0);
  std::uint64_t latest = 0;
  for (std::uint64_t n = first; n <= last; ++n) {
    after[n - first] = latest;
    if (const detail::CallRecord* r = entry(calls_, n))
      latest = std::max({latest, r->begin_ticks.load(relaxed), r->end_ticks.load(relaxed)});
  }
  std::uint64_t next_begin = detail::trace_ticks();
  for (std::uint64_t n = last; n >= first && n > 0; --n) {
    finished_by[n - first] = next_begin;
    if (const detail::CallRecord* r = entry(calls_, n); r && r->begin_ticks.load(relaxed) != 0)
      next_begin = r->begin_ticks.load(relaxed);
  }
  // The messages go between the collectives: one numbered k was sent before collective #k.
  std::uint64_t m = message_first;
  const auto write_messages_before = [&](std::uint64_t call) {
    for (; m <= message_last; ++m) {
      const detail::CallRecord* r = entry(messages_, m);
      if (!r) continue;
      if (r->call.load(relaxed) > call) return;
      std::string line = line_of(*r, to_ns, 0, 0);
      if (r->sequence.load(std::memory_order_acquire) == m) out << line << "\n";
    }
  };
  for (std::uint64_t n = first; n <= last; ++n) {
    const detail::CallRecord* r = entry(calls_, n);
    if (!r) continue;  // being rewritten
    write_messages_before(r->call.load(relaxed));
    std::string line = line_of(*r, to_ns, after[n - first], finished_by[n - first]);
    if (r->sequence.load(std::memory_order_acquire) != n) continue;  // rewritten while read
    out << line << "\n";
  }
  write_messages_before(~std::uint32_t{0});
  // Then the calls still queued behind them (and any that ended before they began).
  const std::pair queued_span = span_of(queued_);
  for (std::uint64_t n = queued_span.first; n <= queued_span.second && n > 0; ++n) {
    const detail::CallRecord* r = entry(queued_, n);
    if (!r || (r->flags.load(std::memory_order_acquire) & detail::CallRecord::dequeued_flag))
      continue;
    std::string line = line_of(*r, to_ns, 0, 0);
    if (r->sequence.load(std::memory_order_acquire) == n) out << line << "\n";
  }
}

// Who wrote a trace: the first line of every dump.
struct TraceHeader {
  int rank = 0;
  int size = 1;
  std::string_view comm;           // the communicator's lineage ("world", "world/split(1)@4")
  std::string_view transport;      // "in-process", "mpi", "ucx"
  const Error* failure = nullptr;  // what broke the communicator, if anything
  std::string_view node;           // the node this rank runs on (Settings::node); empty: unknown
};

// The header line, then the recorded calls (none where `recorder` is null): what
// tools/colt-trace reads.
inline void write_trace(std::ostream& out, const TraceHeader& h, const FlightRecorder* recorder) {
  std::string line = "{\"colt_trace\":1,\"rank\":" + std::to_string(h.rank) +
                     ",\"size\":" + std::to_string(h.size) +
                     ",\"node\":" + detail::json_string(h.node.empty() ? "unknown" : h.node) +
                     ",\"pid\":" + std::to_string(::getpid()) +
                     ",\"comm\":" + detail::json_string(h.comm) +
                     ",\"transport\":" + detail::json_string(h.transport) +
                     ",\"recorded\":" + std::to_string(recorder ? recorder->recorded() : 0) +
                     ",\"capacity\":" + std::to_string(recorder ? recorder->capacity() : 0) +
                     ",\"written_ns\":" + std::to_string(detail::trace_now_ns());
  if (h.failure)
    line += ",\"last_error\":{\"kind\":" + detail::json_string(name_of(h.failure->kind())) +
            ",\"operation\":" + detail::json_string(h.failure->collective()) +
            ",\"peer\":" + std::to_string(h.failure->peer()) +
            ",\"text\":" + detail::json_string(h.failure->what()) + "}";
  out << line << "}\n";
  if (recorder) recorder->write_calls(out);
}

}  // namespace colt
