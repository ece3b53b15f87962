#pragma once
// Argument checks made before any traffic (NCCL's ArgsCheck, CUTLASS's can_implement): what one
// rank can see about its own call. What only shows across ranks (counts that differ) surfaces
// as a size mismatch on the first message, or as the timeout.

#include <cstddef>
#include <numeric>
#include <span>
#include <string>
#include <utility>

#include "colt/algorithms/primitives.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"

namespace colt::detail {

class ArgsCheck {
 public:
  ArgsCheck(CollectiveKind kind, int rank, int size) : kind_(kind), rank_(rank), size_(size) {}

  [[noreturn]] void fail(const std::string& cause) const {
    throw Error(std::string(name_of(kind_)), rank_, no_peer, cause);
  }

  void root(int root) const {
    if (root < 0 || root >= size_)
      fail("root " + std::to_string(root) + " is out of range for " + std::to_string(size_) +
           " ranks");
  }

  void equal(const char* what, std::size_t got, const char* expected_what, std::size_t expected) const {
    if (got != expected)
      fail(std::string(what) + " has " + std::to_string(got) + " elements, expected " +
           std::to_string(expected) + " (" + expected_what + ")");
  }

  void at_least(const char* what, std::size_t got, const char* expected_what, std::size_t expected) const {
    if (got < expected)
      fail(std::string(what) + " has " + std::to_string(got) + " elements, too small for " +
           std::to_string(expected) + " (" + expected_what + ")");
  }

  void divisible(const char* what, std::size_t count) const {
    if (count % static_cast<std::size_t>(size_) != 0)
      fail(std::string(what) + " has " + std::to_string(count) +
           " elements, not a multiple of the " + std::to_string(size_) + " ranks");
  }

  // Per-rank counts of a `v` collective: one per rank; returns their sum.
  std::size_t counts(std::span<const std::size_t> counts) const {
    if (counts.size() != static_cast<std::size_t>(size_))
      fail("counts has " + std::to_string(counts.size()) + " entries, expected one per rank (" +
           std::to_string(size_) + ")");
    return std::accumulate(counts.begin(), counts.end(), std::size_t{0});
  }

  void algorithm(Algorithm algorithm) const {
    if (!supports(kind_, algorithm))
      fail("algorithm '" + std::string(name_of(algorithm)) + "' is not available for " +
           std::string(name_of(kind_)));
  }

  // Input and output must be the same memory (in place) or not overlap at all.
  template <class T>
  void no_partial_overlap(std::span<const T> in, std::span<const T> out) const {
    const T* a = in.data();
    const T* b = out.data();
    if (in.empty() || out.empty() || a == b) return;
    const bool disjoint = a + in.size() <= b || b + out.size() <= a;
    if (!disjoint) fail("input and output buffers overlap without being the same buffer");
  }

 private:
  CollectiveKind kind_;
  int rank_;
  int size_;
};

// Tells a transport that wants to know (see FailureAwareTransport) that a call on it failed.
template <class T>
void note_failure(T& transport) noexcept {
  if constexpr (FailureAwareTransport<T>) transport.note_failure();
}

// Runs one collective call, naming it in any colt::Error a transport raises underneath. Every
// request the call started is finished before this returns or throws, so no peer can still be
// reading or writing the caller's buffers afterwards.
template <class Comm, class Fn>
void run_call(Comm& comm, CollectiveKind kind, Fn&& fn) {
  struct ClearRequests {
    Comm& comm;
    ~ClearRequests() { comm.request_store().clear(); }
  } clear_requests{comm};
  Call<Comm> call(comm, kind);
  try {
    fn(call);
  } catch (const Error& e) {
    note_failure(comm.transport());
    if (!e.collective().empty()) throw;
    throw e.in_collective(name_of(kind));
  } catch (...) {
    note_failure(comm.transport());
    throw;
  }
}

}  // namespace colt::detail
