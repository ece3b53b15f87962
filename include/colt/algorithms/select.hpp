#pragma once
// Which algorithm a call runs: the one place that decides. `plan` returns the whole decision
// (algorithm, chunking, the model's predicted time) and every collective's front door checks
// its arguments, then runs `plan(...).algorithm` through its record (records.hpp), which also
// says what each collective can run. In order:
// 1. Device buffers moved through views run direct: one fused pass over the peers' buffers, the
//    only schedule that never touches device memory from the host (collectives/device.hpp).
// 2. `colt::ordered`, or the communicator's ordered option on a reducing call, runs direct, or
//    slots where the call fits one round of them: both fold the ranks' values in rank order,
//    whatever the size (docs/reliability.md).
// 3. An algorithm named by the call, else by the communicator's algorithm setting (COLT_ALGO),
//    for every call whose collective has it.
// 4. A call that fits one round of the transport's shared slots runs slots: one hand-off among
//    all ranks, where every other algorithm takes one per step (docs/performance.md measures it
//    fastest there at 2 to 8 ranks).
// 5. Otherwise the fastest by an alpha-beta cost model, of the schedules the collective's record
//    lists that the call can run (slots in rounds where the transport has them), whose
//    constants were measured on the development machine (tuning.hpp, docs/performance.md), or
//    on the machine in use where the communicator's tuning setting (COLT_TUNING) names a file
//    benchmarks/tune wrote (tuning_file.hpp); where it has no entry, the record's fallback.
//    On a communicator that knows its ranks span nodes (Communicator::nodes()), an all_reduce,
//    reduce_scatter, all_gather, broadcast or reduce is priced in two levels (two_level.hpp): the
//    table for what runs on a node, the link between nodes for what crosses them, which weighs
//    the two-level algorithms (hierarchical.hpp) against the flat ones; slots, shared memory,
//    stay on one node.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "colt/algorithms/records.hpp"
#include "colt/algorithms/tuning.hpp"
#include "colt/algorithms/tuning_file.hpp"
#include "colt/algorithms/two_level.hpp"
#include "colt/core/algorithm_name.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/settings.hpp"
#include "colt/core/error.hpp"
#include "colt/core/flight_recorder.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"

namespace colt {

// Why plan() chose what it chose: the rules below, in their order.
enum class PlanReason : std::uint8_t {
  device,     // device buffers run direct
  ordered,    // a rank-ordered reduction: slots or direct
  requested,  // the call named the algorithm
  forced,     // the communicator's algorithm setting (COLT_ALGO)
  one_round,  // the call fits one round of shared slots
  model,      // the cost model's fastest
  fallback,   // no entry in the model's table
};

constexpr std::string_view name_of(PlanReason reason) noexcept {
  switch (reason) {
    case PlanReason::device: return "device buffers run direct";
    case PlanReason::ordered: return "a rank-ordered reduction";
    case PlanReason::requested: return "named by the call";
    case PlanReason::forced: return "the communicator's algorithm setting (COLT_ALGO)";
    case PlanReason::one_round: return "fits one round of shared slots";
    case PlanReason::model: return "the cost model's fastest";
    case PlanReason::fallback: return "the model has no entry; the default";
  }
  return "unknown";
}

struct Plan {
  Algorithm algorithm = Algorithm::direct;
  std::size_t chunk_bytes = tuning::chunk_bytes;  // pipeline chunk of ring and tree
  double predicted_seconds = 0;                   // the model's time; 0 where it has no entry
  PlanReason reason = PlanReason::model;
  // A two-level algorithm's levels: within each node, and across nodes.
  algorithms::hierarchical::Levels levels{};
};

namespace detail {

// What one round of X's shared slots carries per rank; 0 where X has none.
template <class X>
constexpr std::size_t slot_bytes_of() {
  if constexpr (SlotTransport<X>)
    return X::slot_capacity();
  else
    return 0;
}

// What constrains a call beyond its size and rank count: its buffers, its transport, and its
// communicator's settings (core/settings.hpp).
struct Constraints {
  bool device = false;   // its buffers are device memory, moved through views
  bool ordered = false;  // the communicator's ordered setting is on
  // What one round of the transport's shared slots carries per rank; 0: it has none.
  std::size_t slot_bytes = 0;
  Algorithm forced = Algorithm::automatic;       // the communicator's algorithm setting (COLT_ALGO)
  int tuning_id = 0;                             // its tuning file's number; 0: the compiled table
  const std::string* tuning_file = nullptr;      // that file's path, read when first planned with
  tuning::Topology topology{};                   // its nodes, where the communicator knows them
  bool operator==(const Constraints& o) const {  // the path is named by its number
    return device == o.device && ordered == o.ordered && slot_bytes == o.slot_bytes &&
           forced == o.forced && tuning_id == o.tuning_id && topology == o.topology;
  }
};

template <class X>
Constraints constraints_of(const Settings& settings, bool device = false,
                           const NodeMap* nodes = nullptr) {
  return {.device = device,
          .ordered = settings.ordered,
          .slot_bytes = slot_bytes_of<X>(),
          .forced = settings.algorithm,
          .tuning_id = settings.tuning_id,
          .tuning_file = &settings.tuning_file,
          .topology = tuning::topology_of(nodes)};
}

// The model's time for `algorithm` running `kind` on `bytes` (the call's largest buffer, as
// nccl-tests counts size) over `ranks` ranks: alpha + beta x bytes, plus beta_memory per byte
// beyond the cache. The constants come from `table`'s entry measured at the nearest rank count;
// 0 where it has none.
inline double predict(CollectiveKind kind, Algorithm algorithm, std::size_t bytes, int ranks,
                      bool views, std::span<const tuning::Entry> table = tuning::table) {
  const tuning::Entry* best = nullptr;
  // How far apart two rank counts are on a log scale, without a logarithm: larger / smaller.
  auto distance = [&](int measured) {
    return measured > ranks ? double(measured) / ranks : double(ranks) / measured;
  };
  for (const tuning::Entry& e : table)
    if (e.kind == kind && e.algorithm == algorithm && e.views == views &&
        (!best || distance(e.ranks) < distance(best->ranks) ||
         (distance(e.ranks) == distance(best->ranks) && e.ranks > best->ranks)))
      best = &e;
  if (!best) return 0;
  const double n = static_cast<double>(bytes), cache = best->cache_bytes;
  return best->alpha + best->beta * n + best->beta_memory * std::max(0.0, n - cache);
}

// The fastest of `candidates` by `seconds(a)` (0 where the table has no entry for `a`), which
// `chosen` receives; 0 where none has an entry. One level of a two-level algorithm.
template <class Seconds>
double fastest_level(std::initializer_list<Algorithm> candidates, Seconds&& seconds,
                     Algorithm& chosen) {
  double best = 0;
  for (const Algorithm a : candidates) {
    const double x = seconds(a);
    if (x > 0 && (best == 0 || x < best)) {
      best = x;
      chosen = a;
    }
  }
  return best;
}

// The model's time for an all_reduce run by `algorithm` where the ranks span nodes as `t` says:
// a flat algorithm's time on a node plus its traffic across nodes; a two-level algorithm's
// levels, each with its fastest algorithm, which `levels` receives. 0 where the table has no
// entry.
inline double predict_on_nodes(Algorithm algorithm, std::size_t bytes, int ranks, bool views,
                               std::span<const tuning::Entry> table, const tuning::Topology& t,
                               const tuning::Link& link,
                               algorithms::hierarchical::Levels* levels = nullptr) {
  constexpr CollectiveKind all_reduce = CollectiveKind::all_reduce;
  if (algorithm != Algorithm::hierarchical && algorithm != Algorithm::node_leaders) {
    const double on_node = predict(all_reduce, algorithm, bytes, ranks, views, table);
    if (on_node <= 0) return 0;
    return on_node + tuning::flat_network_seconds(algorithm, double(bytes), ranks, t, link);
  }
  // On nodes of different sizes `hierarchical` runs as node_leaders (hierarchical.hpp).
  const bool rails = algorithm == Algorithm::hierarchical && (!t.spans_nodes() || t.per_node > 0);
  const int nodes = t.spans_nodes() ? t.nodes : 1;
  const int per_node = t.spans_nodes() ? t.most_per_node : ranks;
  algorithms::hierarchical::Levels chosen;
  double total = 0;
  if (per_node > 1) {  // the node level: direct or tree halves (hierarchical.hpp, Levels)
    chosen.intra = rails ? Algorithm::direct : Algorithm::tree;
    const double x = predict(rails ? CollectiveKind::reduce_scatter : CollectiveKind::reduce,
                             chosen.intra, bytes, per_node, views, table),
                 y = predict(rails ? CollectiveKind::all_gather : CollectiveKind::broadcast,
                             chosen.intra, bytes, per_node, views, table);
    if (x <= 0 || y <= 0) return 0;
    total += x + y;
  }
  if (nodes > 1) {  // the level across nodes: M rails of n/M bytes, or the leaders' n bytes
    const int rail_count = rails ? per_node : 1;
    const std::size_t share = rails ? bytes / static_cast<std::size_t>(per_node) : bytes;
    const double best = fastest_level(
        {Algorithm::ring, Algorithm::tree, Algorithm::direct},
        [&](Algorithm a) {
          const double x = predict(all_reduce, a, share, nodes, views, table);
          if (x <= 0) return 0.0;
          return x + tuning::cross_nodes_seconds(a, double(share), nodes, rail_count, link);
        },
        chosen.inter);
    if (best == 0) return 0;
    total += best;
  }
  if (levels) *levels = chosen;
  return total;
}

// The same for a broadcast or reduce: a flat algorithm's time on a node plus its traffic across
// nodes, or the two-level form's levels (hierarchical.hpp: within nodes, and among one rank per
// node), each with its fastest of tree and direct.
inline double predict_rooted_on_nodes(CollectiveKind kind, Algorithm algorithm, std::size_t bytes,
                                      int ranks, bool views, std::span<const tuning::Entry> table,
                                      const tuning::Topology& t, const tuning::Link& link,
                                      algorithms::hierarchical::Levels* levels = nullptr) {
  const double n = double(bytes);
  if (algorithm != Algorithm::hierarchical) {
    const double on_node = predict(kind, algorithm, bytes, ranks, views, table);
    if (on_node <= 0) return 0;
    return on_node + tuning::flat_rooted_network_seconds(algorithm, n, ranks, t, link);
  }
  const int nodes = t.spans_nodes() ? t.nodes : 1;
  const int per_node = t.spans_nodes() ? t.most_per_node : ranks;
  algorithms::hierarchical::Levels chosen;
  double total = 0;
  for (const bool across : {false, true}) {
    const int group = across ? nodes : per_node;
    if (group < 2) continue;
    const double best = fastest_level(
        {Algorithm::tree, Algorithm::direct},
        [&](Algorithm a) {
          const double x = predict(kind, a, bytes, group, views, table);
          if (x <= 0 || !across) return x;
          return x + tuning::heads_seconds(a, n, nodes, link);
        },
        across ? chosen.inter : chosen.intra);
    if (best == 0) return 0;
    total += best;
  }
  if (levels) *levels = chosen;
  return total;
}

// The same for a reduce_scatter or all_gather (`bytes`: the whole buffer): half an all_reduce's
// traffic run flat, or the two-level form's levels (hierarchical.hpp: the rails across nodes,
// ring or direct, and one direct call within the node for each node's M segments).
inline double predict_scattered_on_nodes(CollectiveKind kind, Algorithm algorithm,
                                         std::size_t bytes, int ranks, bool views,
                                         std::span<const tuning::Entry> table,
                                         const tuning::Topology& t, const tuning::Link& link,
                                         algorithms::hierarchical::Levels* levels = nullptr) {
  const double n = double(bytes);
  auto flat = [&](Algorithm a) {
    const double on_node = predict(kind, a, bytes, ranks, views, table);
    if (on_node <= 0) return 0.0;
    return on_node + tuning::flat_network_seconds(a, n, ranks, t, link) / 2;
  };
  if (algorithm != Algorithm::hierarchical) return flat(algorithm);
  algorithms::hierarchical::Levels chosen;
  double total = 0;
  if (t.spans_nodes() && t.per_node == 0) {  // nodes of different sizes: flat (hierarchical.hpp)
    total = fastest_level({Algorithm::ring, Algorithm::direct}, flat, chosen.inter);
  } else {
    const int nodes = t.spans_nodes() ? t.nodes : 1;
    const int per_node = t.spans_nodes() ? t.per_node : ranks;
    if (per_node > 1) {  // N calls, each of the node's M segments
      chosen.intra = Algorithm::direct;
      const double x =
          predict(kind, Algorithm::direct, bytes / std::size_t(nodes), per_node, views, table);
      if (x <= 0) return 0;
      total += nodes * x;
    }
    if (nodes > 1) {  // M rails of N segments each, sharing every node's link
      const std::size_t share = bytes / std::size_t(per_node);
      const double best = fastest_level(
          {Algorithm::ring, Algorithm::direct},
          [&](Algorithm a) {
            const double x = predict(kind, a, share, nodes, views, table);
            if (x <= 0) return 0.0;
            return x + tuning::cross_nodes_seconds(a, double(share), nodes, per_node, link) / 2;
          },
          chosen.inter);
      if (best == 0) return 0;
      total += best;
    }
  }
  if (levels) *levels = chosen;
  return total;
}

}  // namespace detail

// The algorithm and chunking for one call of `kind` moving `bytes` over `ranks` ranks;
// `views` says the transport lets a rank read its peers' memory (in-process). The
// automatic choice is the algorithm the model predicts fastest (docs/performance.md shows the
// fit and its crossovers; benchmarks/tune measures the constants on a new machine). `requested`
// is supported by `kind`: the front door checked it.
inline Plan plan(CollectiveKind kind, std::size_t bytes, int ranks, bool views,
                 Algorithm requested = Algorithm::automatic,
                 const detail::Constraints& constraints = {}) {
  // A training loop repeats the same calls: the last plan of this thread is kept, so a hit costs
  // a comparison instead of a table scan (which costs about as much as a small in-process call).
  struct Key {
    CollectiveKind kind = CollectiveKind::all_reduce;
    std::size_t bytes = 0;
    int ranks = 0;
    bool views = false;
    Algorithm requested = Algorithm::automatic;
    detail::Constraints constraints{};
    bool operator==(const Key&) const = default;
  };
  thread_local Key last_key;
  thread_local Plan last_plan;
  const Key key{kind, bytes, ranks, views, requested, constraints};
  if (key == last_key) return last_plan;
  const tuning::Model model = tuning::model(constraints.tuning_id, constraints.tuning_file);
  const std::span<const tuning::Entry> table = model.entries;
  const tuning::Topology& topology = constraints.topology;
  // The model's time, in two levels on ranks that span nodes (and for the two-level algorithms,
  // whose levels it picks).
  auto predict = [&](Algorithm algorithm, algorithms::hierarchical::Levels* levels = nullptr) {
    const bool two_level = topology.spans_nodes() || algorithm == Algorithm::hierarchical ||
                           algorithm == Algorithm::node_leaders;
    if (kind == CollectiveKind::all_reduce && two_level)
      return detail::predict_on_nodes(algorithm, bytes, ranks, views, table, topology,
                                      model.network, levels);
    if ((kind == CollectiveKind::broadcast || kind == CollectiveKind::reduce) && two_level)
      return detail::predict_rooted_on_nodes(kind, algorithm, bytes, ranks, views, table, topology,
                                             model.network, levels);
    if ((kind == CollectiveKind::reduce_scatter || kind == CollectiveKind::all_gather) && two_level)
      return detail::predict_scattered_on_nodes(kind, algorithm, bytes, ranks, views, table,
                                                topology, model.network, levels);
    return detail::predict(kind, algorithm, bytes, ranks, views, table);
  };
  const CollectiveRecord record = record_of(kind);
  // What the call can run beyond messages (the record's Needs, at run time).
  auto met = [&](Needs needs) {
    switch (needs) {
      case Needs::messages: return true;
      case Needs::host_slots:
        return constraints.slot_bytes > 0 && !constraints.device && !topology.spans_nodes();
      case Needs::nodes:
        return topology.spans_nodes() && topology.most_per_node > 1 && !constraints.device;
    }
    return false;
  };
  const Capability* slots = record.find(Algorithm::slots);
  const bool one_round = slots && met(slots->needs) && bytes <= constraints.slot_bytes;
  Plan chosen;
  chosen.reason = PlanReason::requested;
  if (constraints.device) {
    requested = Algorithm::direct;  // rule 1
    chosen.reason = PlanReason::device;
  } else if (requested == Algorithm::ordered || (constraints.ordered && record.reduces)) {
    requested = one_round ? Algorithm::slots : Algorithm::direct;  // rule 2: both in rank order
    chosen.reason = PlanReason::ordered;
  } else if (requested == Algorithm::automatic && constraints.forced != Algorithm::automatic) {
    if (const Capability* c = record.find(constraints.forced); c && met(c->needs)) {
      requested = constraints.forced;
      chosen.reason = PlanReason::forced;
    }
  }
  if (requested == Algorithm::automatic && one_round) {
    requested = Algorithm::slots;  // rule 4
    chosen.reason = PlanReason::one_round;
  }
  if (requested != Algorithm::automatic) {
    chosen.algorithm = requested;
    chosen.predicted_seconds = predict(requested, &chosen.levels);
    last_key = key;
    return last_plan = chosen;
  }
  chosen.reason = PlanReason::model;
  bool found = false;
  for (const Capability& c : record.algorithms) {  // device buffers never get here (rule 1)
    if (!met(c.needs)) continue;
    algorithms::hierarchical::Levels levels;
    const double t = predict(c.algorithm, &levels);
    if (t > 0 && (!found || t < chosen.predicted_seconds)) {
      chosen.algorithm = c.algorithm;
      chosen.predicted_seconds = t;
      chosen.levels = levels;
      found = true;
    }
  }
  if (!found) {
    chosen.algorithm = detail::fallback(kind, views);
    chosen.reason = PlanReason::fallback;
  }
  last_key = key;
  return last_plan = chosen;
}

// The plan for a call of `kind` on `bytes` over `comm` (host buffers): what the front door will
// run.
template <Transport X>
Plan plan(CollectiveKind kind, std::size_t bytes, const Communicator<X>& comm,
          Algorithm requested = Algorithm::automatic) {
  return plan(kind, bytes, comm.size(), ViewTransport<X>, requested,
              detail::constraints_of<X>(comm.settings(), false, comm.known_nodes()));
}

namespace detail {
// "; 4 nodes x 2 ranks, levels: direct within nodes, ring across": what a plan's explanation
// adds where the ranks span nodes or the plan has two levels.
inline std::string explain_levels(const Plan& plan, const tuning::Topology& t) {
  std::string text;
  if (t.spans_nodes())
    text +=
        "; " + std::to_string(t.nodes) + " nodes x " +
        (t.per_node > 0 ? std::to_string(t.per_node) : "up to " + std::to_string(t.most_per_node)) +
        " ranks";
  if (plan.algorithm == Algorithm::hierarchical || plan.algorithm == Algorithm::node_leaders)
    text += std::string(t.spans_nodes() ? ", " : "; ") +
            "levels: " + std::string(name_of(plan.levels.intra)) + " within nodes, " +
            std::string(name_of(plan.levels.inter)) + " across";
  return text;
}
}  // namespace detail

// The plan for a collective call in progress (algorithms/primitives.hpp's Call): its kind, its
// buffers' memory, its communicator's options.
// The flight recorder notes the plan; COLT_DEBUG=INFO logs the first of each collective and
// size class.
template <class Call>
Plan plan_call(Call& call, std::size_t bytes, Algorithm requested) {
  const detail::Constraints constraints = detail::constraints_of<typename Call::transport_type>(
      call.comm().settings(), Call::on_device, call.comm().known_nodes());
  const Plan chosen =
      plan(call.kind(), bytes, call.size(), Call::has_views, requested, constraints);
  auto& plumbing = detail::plumbing(call.comm());
  FlightRecorder::planned(plumbing.current_record(), chosen.algorithm);
  if (call.comm().settings().debug_info && plumbing.first_of_size_class(call.kind(), bytes))
    (void)std::fprintf(
        stderr, "colt INFO rank %d/%d: %s of %zu bytes on %s runs %s (%s; predicted %.3g us%s)\n",
        call.rank(), call.size(), std::string(name_of(call.kind())).c_str(), bytes,
        call.comm().lineage().c_str(), std::string(name_of(chosen.algorithm)).c_str(),
        std::string(name_of(chosen.reason)).c_str(), chosen.predicted_seconds * 1e6,
        detail::explain_levels(chosen, constraints.topology).c_str());
  return chosen;
}

}  // namespace colt
