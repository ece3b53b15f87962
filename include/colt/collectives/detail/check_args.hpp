#pragma once
// Argument checks made before any traffic (NCCL's ArgsCheck, CUTLASS's can_implement): what one
// rank can see about its own call. What only shows across ranks (counts that differ) surfaces
// as a size mismatch on the first message, or as the timeout; under the argument-checking
// option (COLT_CHECK) the ranks compare their calls' descriptors first and fail together.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "colt/algorithms/primitives.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/core/call_descriptor.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/detail/plumbing.hpp"
#include "colt/core/detail/progress_engine.hpp"
#include "colt/core/error.hpp"
#include "colt/core/flight_recorder.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/detail/exchange.hpp"

namespace colt::detail {

// The one way ranks compare arguments (COLT_CHECK): every rank's record, n elements at
// all[n * rank] that the caller filled, reaches every other rank, on the argument-check tag's
// sub-step `step` (one per exchange of a call), then `read` takes in what arrived. A failure of
// either names the call and breaks the communicator as a failed collective's would, failure
// identification included: the ranks compared nothing, so none can go on.
template <class Comm, class T, class Read>
void exchange_arguments(Comm& comm, Operation name, std::span<T> all, std::size_t n,
                        std::uint32_t step, Read&& read) {
  auto& plumbing = detail::plumbing(comm);
  try {
    exchange_with_all(plumbing.link(), all, n, Tag::make(CollectiveKind::argument_check, 0, step),
                      comm.deadline());
    read();
  } catch (const Error& e) {
    throw plumbing.broken_by(Error(e.kind(), name, Error::Rank{e.rank()}, Error::Peer{e.peer()},
                                   "comparing the ranks' arguments (COLT_CHECK): " + e.cause()),
                             name);
  }
}

// Every rank sends `mine` to every other and compares. Returns when all calls agree and no rank
// failed its own checks (`local_error` is this rank's failure, if any); otherwise every rank
// throws the same list of calls. Nothing has moved yet, so the ranks stay in step and the
// communicator stays usable. Check messages use one tag whatever the call number, so a rank
// that skipped or added a call is reported as a mismatch too, not as a timeout.
template <class Comm>
void agree_on_call(Comm& comm, CallDescriptor mine, const std::string* local_error) {
  const Operation name = operation_of(mine);
  auto& plumbing = detail::plumbing(comm);
  plumbing.throw_if_broken(name);
  const int p = comm.size(), r = comm.rank();
  constexpr std::size_t n = CallDescriptor::encoded_size;
  mine.sequence = comm.calls();
  if (comm.checksum()) mine.flags |= CallDescriptor::flag_checksum;
  if (comm.ordered()) mine.flags |= CallDescriptor::flag_ordered;
  if (local_error) mine.flags |= CallDescriptor::flag_local_error;
  std::vector<std::byte> all(n * static_cast<std::size_t>(p));
  const auto encoded = encode(mine);
  std::copy(encoded.begin(), encoded.end(),
            all.begin() + static_cast<std::ptrdiff_t>(n * static_cast<std::size_t>(r)));
  std::vector<CallDescriptor> calls(static_cast<std::size_t>(p));
  exchange_arguments(comm, name, std::span(all), n, 0, [&] {
    for (int q = 0; q < p; ++q)
      calls[static_cast<std::size_t>(q)] =
          q == r ? mine : decode(std::span(all).subspan(n * static_cast<std::size_t>(q), n), r, q);
  });
  bool agree = true, local_errors = false;
  for (const CallDescriptor& c : calls) {
    agree = agree && c.agrees_with(mine);
    local_errors = local_errors || (c.flags & CallDescriptor::flag_local_error);
  }
  if (agree && !local_errors) {
    plumbing.set_agreed_call(mine.sequence);
    return;
  }
  std::string text = local_error ? *local_error + "; " : std::string();
  if (agree) {  // the same call everywhere: name the ranks whose own checks failed, not the calls
    std::string failed;
    for (int q = 0; q < p; ++q)
      if (calls[static_cast<std::size_t>(q)].flags & CallDescriptor::flag_local_error)
        failed += (failed.empty() ? "" : ", ") + std::to_string(q);
    text += "rank(s) " + failed + " found this call's arguments wrong (COLT_CHECK)";
    throw Error(local_error ? ErrorKind::invalid_argument : ErrorKind::mismatch, name,
                Error::Rank{r}, text);
  }
  text += "the ranks' calls differ (COLT_CHECK):";
  for (int q = 0; q < p; ++q)
    text +=
        " rank " + std::to_string(q) + ": " + to_string(calls[static_cast<std::size_t>(q)]) + ";";
  text.pop_back();
  throw Error(local_error ? ErrorKind::invalid_argument : ErrorKind::mismatch, name, Error::Rank{r},
              text);
}

// The checks of one call on `comm`. Each failed check throws; under argument checking (the
// communicator's `checking()`), `agreed()` or the first failed check first compares the call
// with the other ranks' calls, exactly once, so every rank fails together.
template <class Comm>
class ArgsCheck {
 public:
  ArgsCheck(Comm& comm, const CallDescriptor& call)
      : comm_(comm), call_(call), compare_pending_(comm.checking()) {
    plumbing(comm).set_next_call(call);  // what the flight recorder writes down (run_call)
  }

  // Every local check passed: under argument checking, the ranks compare their calls now.
  void agreed() {
    if (std::exchange(compare_pending_, false)) agree_on_call(comm_, call_, nullptr);
  }

  [[noreturn]] void fail(const std::string& cause) {
    // Under argument checking the other ranks learn of it too, and fail with this rank.
    if (std::exchange(compare_pending_, false)) agree_on_call(comm_, call_, &cause);
    throw Error(ErrorKind::invalid_argument, operation_of(call_), Error::Rank{comm_.rank()}, cause);
  }

  void root(int root) {
    if (root < 0 || root >= size())
      fail("root " + std::to_string(root) + " is out of range for " + std::to_string(size()) +
           " ranks");
  }

  void equal(const char* what, std::size_t got, const char* expected_what, std::size_t expected) {
    if (got != expected)
      fail(std::string(what) + " has " + std::to_string(got) + " elements, expected " +
           std::to_string(expected) + " (" + expected_what + ")");
  }

  void at_least(const char* what, std::size_t got, const char* expected_what,
                std::size_t expected) {
    if (got < expected)
      fail(std::string(what) + " has " + std::to_string(got) + " elements, too small for " +
           std::to_string(expected) + " (" + expected_what + ")");
  }

  void divisible(const char* what, std::size_t count) {
    if (count % static_cast<std::size_t>(size()) != 0)
      fail(std::string(what) + " has " + std::to_string(count) +
           " elements, not a multiple of the " + std::to_string(size()) + " ranks");
  }

  // Per-rank counts of a `v` collective of T: one per rank; returns their sum. A sum larger than
  // any buffer of T can be is refused, so that it cannot wrap around: a wrapped sum (a negative
  // int count converted to size_t does it) would pass the buffer-size checks, and the segments
  // cut from the counts would run past the buffer.
  template <class T>
  std::size_t counts(std::span<const std::size_t> counts) {
    if (counts.size() != static_cast<std::size_t>(size()))
      fail("counts has " + std::to_string(counts.size()) + " entries, expected one per rank (" +
           std::to_string(size()) + ")");
    constexpr std::size_t limit = static_cast<std::size_t>(PTRDIFF_MAX) / sizeof(T);
    std::size_t total = 0;
    for (std::size_t j = 0; j < counts.size(); ++j) {
      if (counts[j] > limit - total) {
        const std::string which = "counts[" + std::to_string(j) + "] = ";
        if (const auto as_signed = static_cast<std::int64_t>(counts[j]); as_signed < 0)
          fail(which + std::to_string(as_signed) + " is negative");
        fail(which + std::to_string(counts[j]) + " takes the sum of counts past " +
             std::to_string(limit) + " elements, more than any buffer holds");
      }
      total += counts[j];
    }
    return total;
  }

  // `count` x the ranks (an even form's whole buffer), refused where no buffer of T can be that
  // large: a product that wrapped around would pass the size checks.
  template <class T>
  std::size_t times_ranks(const char* what, std::size_t count) {
    constexpr std::size_t limit = static_cast<std::size_t>(PTRDIFF_MAX) / sizeof(T);
    const auto p = static_cast<std::size_t>(size());
    if (count > limit / p)
      fail(std::string(what) + " has " + std::to_string(count) + " elements, and " +
           std::to_string(p) + " times that is more than any buffer holds");
    return count * p;
  }

  void algorithm(Algorithm algorithm) {
    if (!supports(call_.kind, algorithm))
      fail("algorithm '" + std::string(name_of(algorithm)) + "' is not available for " +
           call_name(call_));
    const Capability* c = record_of(call_.kind).find(algorithm);
    if (c && c->needs == Needs::host_slots && !SlotTransport<typename Comm::transport_type>)
      fail("algorithm '" + std::string(name_of(algorithm)) +
           "' needs a transport with shared slots (in-process ranks)");
  }

  // Input and output must not overlap at all (no in-place form).
  template <class T>
  void disjoint(std::span<const T> in, std::span<const T> out) {
    const T* a = in.data();
    const T* b = out.data();
    if (in.empty() || out.empty()) return;
    if (!(a + in.size() <= b || b + out.size() <= a)) fail("input and output buffers overlap");
  }

  // Input and output must be the same memory (in place) or not overlap at all.
  template <class T>
  void no_partial_overlap(std::span<const T> in, std::span<const T> out) {
    const T* a = in.data();
    const T* b = out.data();
    if (in.empty() || out.empty() || a == b) return;
    const bool disjoint = a + in.size() <= b || b + out.size() <= a;
    if (!disjoint) fail("input and output buffers overlap without being the same buffer");
  }

 private:
  int size() const { return comm_.size(); }

  Comm& comm_;
  CallDescriptor call_;
  bool compare_pending_;
};

// A timeout or a mismatch may come from calls that differ between the ranks (an order, a count,
// a collective): without argument checking, the error says how to find out which.
template <class Comm>
Error with_check_hint(const Comm& comm, const Error& e) {
  if (comm.checking() || (e.kind() != ErrorKind::timeout && e.kind() != ErrorKind::mismatch))
    return e;
  return Error(e.kind(), e.operation(), Error::Rank{e.rank()}, Error::Peer{e.peer()},
               e.cause() + "; if the ranks' calls may differ, run with COLT_CHECK=1, which " +
                   "compares them before any data moves and names the first that differs");
}

// Tells a transport that wants to know (see FailureAwareTransport) that a call on it failed.
template <class T>
void note_failure(T& transport) noexcept {
  if constexpr (FailureAwareTransport<T>) transport.note_failure();
}

// Runs one collective call, naming it in any colt::Error a transport raises underneath. Every
// request the call started is finished before this returns or throws, so no peer can still be
// reading or writing the caller's buffers afterwards. A broken communicator fails at once; a
// failure here breaks it (Plumbing::mark_broken keeps why).
template <class Comm, class Memory, class Fn>
void run_call(Comm& comm, CollectiveKind kind, Memory memory, Fn&& fn) {
  auto& plumbing = detail::plumbing(comm);
  plumbing.throw_if_broken(operation_of(kind));
  if (comm.checking() && !plumbing.next_call_agreed())
    throw Error(ErrorKind::internal, operation_of(kind), Error::Rank{comm.rank()},
                "the call's arguments were not compared (COLT_CHECK)");
  struct ClearRequests {
    decltype(plumbing)& requests_of;
    ~ClearRequests() {
      requests_of.request_store().clear();
      requests_of.set_current_record(nullptr);
    }
  } clear_requests{plumbing};
  CallRecord* record = nullptr;
  if (FlightRecorder* recorder = plumbing.recorder()) {
    record = recorder->begin(plumbing.next_call(kind), plumbing.calls(), on_progress_thread);
    plumbing.set_current_record(record);
  }
  Call<Comm, Memory> call(comm, kind, std::move(memory));
  try {
    fn(call);
    FlightRecorder::finished(record);
  } catch (const Error& e) {
    FlightRecorder::failed(record, e);
    note_failure(comm.transport());
    Error named = plumbing.broken_by(with_check_hint(comm, e), operation_of(kind));
    dump_trace_on_failure(comm, named);
    // The peers are now out of step with this rank and would wait for it until their own
    // timeouts; where the transport can, tell them now, with the cause (before this call's
    // pending requests are cancelled, which may need the peers to let go of our buffers).
    if constexpr (AbortableTransport<typename Comm::transport_type>)
      comm.transport().abort("rank " + std::to_string(comm.rank()) + " failed: " + named.what());
    throw named;
  } catch (const std::exception& e) {
    FlightRecorder::failed(record);
    note_failure(comm.transport());
    plumbing.mark_broken(
        Error(ErrorKind::internal, operation_of(kind), Error::Rank{comm.rank()}, e.what()));
    throw;
  } catch (...) {
    FlightRecorder::failed(record);
    note_failure(comm.transport());
    plumbing.mark_broken(Error(ErrorKind::internal, operation_of(kind), Error::Rank{comm.rank()},
                               "unknown exception"));
    throw;
  }
}

// A call on host buffers.
template <class Comm, class Fn>
void run_call(Comm& comm, CollectiveKind kind, Fn&& fn) {
  run_call(comm, kind, HostMemory{}, std::forward<Fn>(fn));
}

}  // namespace colt::detail
