#pragma once
// The capability record of each collective: the one place that says which algorithms it
// implements, what each needs of a call, whether the collective reduces (so `ordered` applies),
// what runs where the cost model has no entry, and how a planned algorithm reaches its code.
// supports(), the front doors' argument check, plan(), the tuning file's parser and the front
// doors' dispatch all read it.
//
// Adding an algorithm to a collective touches its code (one algorithm file) and its record
// here: a line in `algorithms` and a case in `run`. A new Algorithm value is also named in
// core/algorithm_name.hpp.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "colt/algorithms/direct.hpp"
#include "colt/algorithms/dissemination.hpp"
#include "colt/algorithms/hierarchical.hpp"
#include "colt/algorithms/primitives.hpp"
#include "colt/algorithms/ring.hpp"
#include "colt/algorithms/schedule/segments.hpp"
#include "colt/algorithms/slots.hpp"
#include "colt/algorithms/tree.hpp"
#include "colt/core/algorithm_name.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"

namespace colt {

// What an algorithm needs of a call beyond sending messages: nothing; a transport with shared
// slots (in-process) and host buffers, on one node; or host buffers on ranks the communicator
// knows to be spread over two or more nodes, some with more than one rank (two-level
// algorithms: run on one node, they are their node level alone, correct and no faster).
enum class Needs : std::uint8_t { messages, host_slots, nodes };

struct Capability {
  Algorithm algorithm = Algorithm::direct;
  Needs needs = Needs::messages;
};

// A record as plan() and the parsers read it, with the collective known only at run time.
struct CollectiveRecord {
  std::span<const Capability> algorithms;  // the schedules, in the order the model weighs them
  bool reduces = false;                    // a reduction: `ordered` applies
  Algorithm fallback_messages = Algorithm::direct;  // where the model has no entry
  Algorithm fallback_views = Algorithm::direct;     // the same, on a transport with views

  constexpr const Capability* find(Algorithm algorithm) const {
    for (const Capability& c : algorithms)
      if (c.algorithm == algorithm) return &c;
    return nullptr;
  }
};

namespace algorithms::records {

// Whether calls of type Call meet `needs` (the compile-time twin of plan()'s run-time test).
template <class Call>
constexpr bool meets(Needs needs) {
  if (needs == Needs::nodes) return !Call::on_device;
  return needs == Needs::messages ||
         (SlotTransport<typename Call::transport_type> && !Call::on_device);
}

// An algorithm that a call cannot run reached its record's run(): the plan is wrong. That is
// reported as the bug it is, never run as some other algorithm.
template <class Call>
[[noreturn]] void unplanned(Call& call, Algorithm algorithm) {
  throw Error(ErrorKind::internal, operation_of(call.kind()), Error::Rank{call.rank()},
              "the plan chose algorithm '" + std::string(name_of(algorithm)) +
                  "', which this call cannot run");
}

// Each record: its capabilities, then run(algorithm, call, operands...), the front door's
// dispatch of the planned algorithm.

struct AllReduce {
  static constexpr Capability algorithms[] = {{Algorithm::ring},
                                              {Algorithm::tree},
                                              {Algorithm::direct},
                                              {Algorithm::slots, Needs::host_slots},
                                              {Algorithm::hierarchical, Needs::nodes},
                                              {Algorithm::node_leaders, Needs::nodes}};
  static constexpr bool reduces = true;
  static constexpr Algorithm fallback_messages = Algorithm::ring, fallback_views = Algorithm::ring;

  // `levels`: the algorithms of a two-level plan's levels.
  template <class Call, class T, class Op>
  static void run(Algorithm a, Call& call, std::span<const T> in, std::span<T> out, Op op,
                  std::size_t chunk_bytes, hierarchical::Levels levels = {}) {
    switch (a) {
      case Algorithm::ring: return ring::all_reduce(call, in, out, op, chunk_bytes);
      case Algorithm::tree: return tree::all_reduce(call, in, out, op, chunk_bytes);
      case Algorithm::direct: return direct::all_reduce(call, in, out, op);
      case Algorithm::slots:
        if constexpr (meets<Call>(Needs::host_slots)) return slots::all_reduce(call, in, out, op);
        break;
      case Algorithm::hierarchical:
        if constexpr (meets<Call>(Needs::nodes))
          return hierarchical::all_reduce(call, call.comm().known_nodes(), in, out, op, chunk_bytes,
                                          levels);
        break;
      case Algorithm::node_leaders:
        if constexpr (meets<Call>(Needs::nodes))
          return hierarchical::node_leaders_all_reduce(
              call, hierarchical::groups_of(call.comm().known_nodes(), call.rank(), call.size()),
              in, out, op, chunk_bytes, levels);
        break;
      default: break;
    }
    unplanned(call, a);
  }
};

struct ReduceScatter {
  static constexpr Capability algorithms[] = {{Algorithm::ring},
                                              {Algorithm::direct},
                                              {Algorithm::slots, Needs::host_slots},
                                              {Algorithm::hierarchical, Needs::nodes}};
  static constexpr bool reduces = true;
  static constexpr Algorithm fallback_messages = Algorithm::ring,
                             fallback_views = Algorithm::direct;

  // `out` is this rank's segment; `in_place` the writable input of an in-place call.
  template <class Call, class T, class Op>
  static void run(Algorithm a, Call& call, std::span<const T> in, std::span<T> out,
                  const schedule::Segments& segments, Op op, std::size_t chunk_bytes,
                  std::span<T> in_place, hierarchical::Levels levels = {}) {
    switch (a) {
      case Algorithm::ring:
        return ring::reduce_scatter(call, in, out, segments, op, chunk_bytes, in_place);
      case Algorithm::direct: return direct::reduce_scatter(call, in, out, segments, op);
      case Algorithm::slots:
        if constexpr (meets<Call>(Needs::host_slots))
          return slots::reduce_scatter(call, in, out, segments, op);
        break;
      case Algorithm::hierarchical:
        if constexpr (meets<Call>(Needs::nodes))
          return hierarchical::reduce_scatter(call, call.comm().known_nodes(), in, out, segments,
                                              op, chunk_bytes, levels);
        break;
      default: break;
    }
    unplanned(call, a);
  }
};

struct AllGather {
  static constexpr Capability algorithms[] = {{Algorithm::ring},
                                              {Algorithm::direct},
                                              {Algorithm::slots, Needs::host_slots},
                                              {Algorithm::hierarchical, Needs::nodes}};
  static constexpr bool reduces = false;
  static constexpr Algorithm fallback_messages = Algorithm::ring,
                             fallback_views = Algorithm::direct;

  template <class Call, class T>
  static void run(Algorithm a, Call& call, std::span<T> out, const schedule::Segments& segments,
                  std::size_t chunk_bytes, hierarchical::Levels levels = {}) {
    switch (a) {
      case Algorithm::ring: return ring::all_gather(call, out, segments, chunk_bytes);
      case Algorithm::direct: return direct::all_gather(call, out, segments);
      case Algorithm::slots:
        if constexpr (meets<Call>(Needs::host_slots)) return slots::all_gather(call, out, segments);
        break;
      case Algorithm::hierarchical:
        if constexpr (meets<Call>(Needs::nodes))
          return hierarchical::all_gather(call, call.comm().known_nodes(), out, segments,
                                          chunk_bytes, levels);
        break;
      default: break;
    }
    unplanned(call, a);
  }
};

struct Broadcast {
  static constexpr Capability algorithms[] = {{Algorithm::tree},
                                              {Algorithm::direct},
                                              {Algorithm::slots, Needs::host_slots},
                                              {Algorithm::hierarchical, Needs::nodes}};
  static constexpr bool reduces = false;
  static constexpr Algorithm fallback_messages = Algorithm::tree, fallback_views = Algorithm::tree;

  template <class Call, class T>
  static void run(Algorithm a, Call& call, std::span<T> data, int root, std::size_t chunk_bytes,
                  hierarchical::Levels levels = {}) {
    switch (a) {
      case Algorithm::tree: return tree::broadcast(call, data, root, chunk_bytes);
      case Algorithm::direct: return direct::broadcast(call, data, root);
      case Algorithm::slots:
        if constexpr (meets<Call>(Needs::host_slots)) return slots::broadcast(call, data, root);
        break;
      case Algorithm::hierarchical:
        if constexpr (meets<Call>(Needs::nodes))
          return hierarchical::broadcast(call, call.comm().known_nodes(), data, root, chunk_bytes,
                                         levels);
        break;
      default: break;
    }
    unplanned(call, a);
  }
};

struct Reduce {
  static constexpr Capability algorithms[] = {{Algorithm::tree},
                                              {Algorithm::direct},
                                              {Algorithm::slots, Needs::host_slots},
                                              {Algorithm::hierarchical, Needs::nodes}};
  static constexpr bool reduces = true;
  static constexpr Algorithm fallback_messages = Algorithm::tree,
                             fallback_views = Algorithm::direct;

  // `out` is read on the root only.
  template <class Call, class T, class Op>
  static void run(Algorithm a, Call& call, std::span<const T> in, std::span<T> out, int root, Op op,
                  std::size_t chunk_bytes, hierarchical::Levels levels = {}) {
    switch (a) {
      case Algorithm::tree:
        return tree::reduce(call, in, call.rank() == root ? out : std::span<T>{}, root, op,
                            chunk_bytes);
      case Algorithm::direct: return direct::reduce(call, in, out, root, op);
      case Algorithm::slots:
        if constexpr (meets<Call>(Needs::host_slots)) return slots::reduce(call, in, out, root, op);
        break;
      case Algorithm::hierarchical:
        if constexpr (meets<Call>(Needs::nodes))
          return hierarchical::reduce(call, call.comm().known_nodes(), in, out, root, op,
                                      chunk_bytes, levels);
        break;
      default: break;
    }
    unplanned(call, a);
  }
};

struct Barrier {
  static constexpr Capability algorithms[] = {{Algorithm::dissemination},
                                              {Algorithm::slots, Needs::host_slots}};
  static constexpr bool reduces = false;
  static constexpr Algorithm fallback_messages = Algorithm::dissemination,
                             fallback_views = Algorithm::dissemination;

  template <class Call>
  static void run(Algorithm a, Call& call) {
    switch (a) {
      case Algorithm::dissemination: return dissemination::barrier(call);
      case Algorithm::slots:
        if constexpr (meets<Call>(Needs::host_slots)) return slots::barrier(call);
        break;
      default: break;
    }
    unplanned(call, a);
  }
};

// The collectives with one schedule (each rank's blocks go straight to their ranks).
struct DirectOnly {
  static constexpr Capability algorithms[] = {{Algorithm::direct}};
  static constexpr bool reduces = false;
  static constexpr Algorithm fallback_messages = Algorithm::direct,
                             fallback_views = Algorithm::direct;
};

template <class R>
constexpr CollectiveRecord view() {
  return {R::algorithms, R::reduces, R::fallback_messages, R::fallback_views};
}

}  // namespace algorithms::records

// The record of `kind`; point-to-point and colt's own internal calls have the empty record.
constexpr CollectiveRecord record_of(CollectiveKind kind) {
  using namespace algorithms::records;
  switch (kind) {
    case CollectiveKind::all_reduce: return view<AllReduce>();
    case CollectiveKind::reduce_scatter: return view<ReduceScatter>();
    case CollectiveKind::all_gather: return view<AllGather>();
    case CollectiveKind::broadcast: return view<Broadcast>();
    case CollectiveKind::reduce: return view<Reduce>();
    case CollectiveKind::barrier: return view<Barrier>();
    case CollectiveKind::scatter:
    case CollectiveKind::gather:
    case CollectiveKind::all_to_all: return view<DirectOnly>();
    default: return {};
  }
}

// Whether a call of `kind` may name `algorithm`: automatic always; ordered where the collective
// reduces; otherwise one of its schedules.
constexpr bool supports(CollectiveKind kind, Algorithm algorithm) {
  if (algorithm == Algorithm::automatic) return true;
  const CollectiveRecord record = record_of(kind);
  if (algorithm == Algorithm::ordered) return record.reduces;
  return record.find(algorithm) != nullptr;
}

namespace detail {
// What runs when the model has no entry for a call: the bandwidth-optimal algorithm.
constexpr Algorithm fallback(CollectiveKind kind, bool views) {
  const CollectiveRecord record = record_of(kind);
  return views ? record.fallback_views : record.fallback_messages;
}
}  // namespace detail

}  // namespace colt
