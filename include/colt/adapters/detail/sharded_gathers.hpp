#pragma once
// ShardedDataParallel's parameter gathers: a unit's full parameters all-gathered from the ranks'
// master shards (stage 3 before each use, stages 1-2 after each optimizer step), widened from a
// bfloat16 wire, bound, and (stage 3) freed again after use. They run on a communicator of their
// own, started on its progress engine where the adapter overlaps, so that a gather in flight
// never sits between two reduce-scatters in one communicator's order (see the adapter's
// members). Callers guard them (step_guard.hpp).

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <utility>

#include "colt/adapters/bucket.hpp"
#include "colt/adapters/detail/sharded_units.hpp"
#include "colt/adapters/detail/step_guard.hpp"
#include "colt/adapters/sharded_options.hpp"
#include "colt/collectives/all_gather.hpp"
#include "colt/core/bfloat16.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/request.hpp"

namespace colt::detail {

template <Transport X>
class ShardedGathers {
 public:
  ShardedGathers(ShardedUnits& units, Communicator<X>& comm,
                 const ShardedDataParallelOptions& options, bool overlapping)
      : units_(units), comm_(comm), options_(options), overlapping_(overlapping) {}

  // Stage 3 starts the next unit's gather while this one computes.
  bool prefetching() const { return overlapping_ && options_.prefetch; }

  // Starts gathering unit u's full parameters from the master shards (stage 3, or after an
  // optimizer step in stages 1-2), unless they are held or on their way.
  void start(std::size_t u) {
    UnitState& s = units_.state(u);
    if (s.gathered || s.gathering) return;
    const ShardUnit& unit = units_.unit(u);
    const auto counts = std::span<const std::size_t>(unit.counts);
    if (!s.params.held()) s.params.allocate_for_overwrite(unit.count);  // the gather fills it
    if (units_.float_wire()) {
      const std::span<float> full = s.params.span();
      const std::span<float> mine = full.subspan(unit.shard.begin, unit.shard.size());
      if (!units_.master_is_view())
        std::copy(units_.master(u).begin(), units_.master(u).end(), mine.begin());
      s.gathering.emplace(
          overlapping_ ? iall_gather_v(comm_, mine, full, counts, options_.algorithm) : Request());
      if (!overlapping_) all_gather_v(comm_, mine, full, counts, options_.algorithm);
    } else {
      s.wire.allocate_for_overwrite(unit.count);  // the gather fills it
      const std::span<bfloat16> full = s.wire.span();
      const std::span<bfloat16> mine = full.subspan(unit.shard.begin, unit.shard.size());
      convert_scaled(mine.data(), units_.master(u).data(), mine.size(), 1.0);
      s.gathering.emplace(
          overlapping_ ? iall_gather_v(comm_, mine, full, counts, options_.algorithm) : Request());
      if (!overlapping_) all_gather_v(comm_, mine, full, counts, options_.algorithm);
    }
  }

  // Waits for unit u's gather (starting it if needed), widens a bfloat16 wire, binds.
  void ensure(std::size_t u) {
    if (units_.state(u).gathered) return;
    start(u);
    finish(u);
  }
  void finish(std::size_t u) {
    UnitState& s = units_.state(u);
    if (!s.gathering) return;
    std::optional<Request> request = std::exchange(s.gathering, std::nullopt);
    request->wait();
    if (!units_.float_wire()) {
      convert_scaled(s.params.span().data(), s.wire.span().data(), s.params.size(), 1.0);
      s.wire.release();
    }
    s.gathered = true;
    units_.bind(u);
  }

  // Stage 3: frees every gathered unit but `keep_a` and `keep_b` (a prefetch still on its way
  // is waited for first: its buffer is in use).
  void release_except(std::size_t keep_a, std::size_t keep_b) {
    if (options_.stage < 3) return;
    for (std::size_t u = 0; u < units_.count(); ++u) {
      if (u == keep_a || u == keep_b) continue;
      UnitState& s = units_.state(u);
      if (!s.gathered && !s.gathering) continue;
      finish(u);
      s.params.release();
      s.gathered = false;
      units_.bind(u);
    }
  }
  void release_all() { release_except(none, none); }

  // After the master shards changed: stages 1-2 start the all-gather of every unit, in unit
  // order, and leave them running: the forward hooks wait for each unit's, so the gathers
  // overlap the next forward (the models' views are empty meanwhile). Stage 3 drops stale
  // gathers and, with prefetch, starts unit 0.
  void publish() {
    if (options_.stage == 3) {
      release_all();
      if (prefetching()) start(0);
      return;
    }
    for (std::size_t u = 0; u < units_.count(); ++u) {
      units_.state(u).gathered = false;
      units_.bind(u);
      start(u);
    }
    if (!overlapping_) finish_all();
  }

  // Waits for every gather in flight, each even after a failure; the first failure is thrown.
  void finish_all() {
    FirstFailure failures;
    for (std::size_t u = 0; u < units_.count(); ++u) failures.run([&] { finish(u); });
    failures.rethrow();
  }

 private:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  ShardedUnits& units_;
  Communicator<X>& comm_;
  const ShardedDataParallelOptions& options_;
  bool overlapping_;
};

}  // namespace colt::detail
