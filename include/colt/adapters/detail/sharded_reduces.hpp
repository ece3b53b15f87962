#pragma once
// ShardedDataParallel's gradient reduce-scatters: a unit's full gradient, its unused tensors
// zeroed and scaled by this rank's weight, reduce-scattered into the averaged gradient shard,
// then freed (stages 2-3) or zeroed for the next step (stage 1). Units start in descending
// order, the order backward finishes them, on the reductions' communicator; where the adapter
// overlaps they run on its progress engine. Callers guard them (step_guard.hpp).

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <utility>

#include "colt/adapters/bucket.hpp"
#include "colt/adapters/detail/sharded_units.hpp"
#include "colt/adapters/detail/step_guard.hpp"
#include "colt/adapters/detail/step_state.hpp"
#include "colt/adapters/detail/total_weight.hpp"
#include "colt/adapters/sharded_options.hpp"
#include "colt/collectives/reduce_scatter.hpp"
#include "colt/core/bfloat16.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/ops.hpp"
#include "colt/core/request.hpp"

namespace colt::detail {

template <Transport X>
class ShardedReduces {
 public:
  ShardedReduces(ShardedUnits& units, Communicator<X>& comm, const StepState& step,
                 StepGuard& guard, const ShardedDataParallelOptions& options, bool overlapping)
      : units_(units),
        comm_(comm),
        step_(step),
        guard_(guard),
        options_(options),
        overlapping_(overlapping) {}

  // A new step: no reduce-scatter started yet.
  void reset() { started_ = 0; }
  bool all_started() const { return started_ == units_.count(); }
  // The unit whose reduce-scatter starts next.
  std::size_t next() const { return units_.count() - 1 - started_; }
  // Whether unit u's reduce-scatter has been started in this step (finished or not).
  bool started(std::size_t u) const { return started_ > 0 && u >= units_.count() - started_; }

  // The step's total weight (total_weight.hpp), learnt when the step begins, at a hook every
  // rank reaches alike, not at the first reduce-scatter, which a mark may start: a bfloat16
  // wire needs the total before its sum, and a rank waiting for it at a mark could wait on a
  // peer that waits in a gather for this rank. Started where the adapter overlaps.
  void learn_total_weight() {
    weight_.learn(comm_, guard_, options_.weighted, step_.samples(), overlapping_);
  }

  // Zeroes what the unit's unused tensors hold, scales by this rank's weight (a float wire;
  // a bfloat16 wire also by 1/total, so the 16-bit sum cannot overflow) and starts the
  // reduce-scatter into the gradient shard.
  void start(std::size_t u) {
    ++started_;
    const ShardUnit& unit = units_.unit(u);
    UnitState& s = units_.state(u);
    units_.ensure_gradients(u);
    const std::span<float> full = s.grads.span();
    for (std::size_t t = unit.first_tensor; t < unit.end_tensor; ++t)
      if (!step_.contributes(t))
        std::fill_n(full.begin() + static_cast<std::ptrdiff_t>(units_.offset_in_unit(t)),
                    units_.sizes()[t], 0.0f);
    const double weight = step_.weight(options_.weighted);
    const auto counts = std::span<const std::size_t>(unit.counts);
    s.reduced = true;
    if (units_.float_wire()) {
      if (weight == 0.0)
        std::fill(full.begin(), full.end(), 0.0f);
      else
        scale_in_place(full, weight);
      const std::span<float> out = s.grad_shard.span();
      if (overlapping_)
        s.reducing.emplace(ireduce_scatter_v(comm_, std::span<const float>(full), out, counts,
                                             sum{}, options_.algorithm));
      else
        reduce_scatter_v(comm_, std::span<const float>(full), out, counts, sum{},
                         options_.algorithm);
    } else {
      s.wire.allocate_zeroed(unit.count);
      s.wire_shard.allocate_for_overwrite(unit.shard.size());  // the reduce-scatter's output
      weight_.wait();  // every rank started it when its step began
      const double scale = weight * weight_.inverse();
      if (scale != 0.0) convert_scaled(s.wire.span().data(), full.data(), full.size(), scale);
      const std::span<const bfloat16> in = s.wire.span();
      const std::span<bfloat16> out = s.wire_shard.span();
      if (overlapping_)
        s.reducing.emplace(ireduce_scatter_v(comm_, in, out, counts, sum{}, options_.algorithm));
      else
        reduce_scatter_v(comm_, in, out, counts, sum{}, options_.algorithm);
    }
  }

  // Finishes unit u's reduce-scatter: waits for it, scales the shard by 1/total and frees the
  // full gradient (stage 1 zeroes it for the next step).
  void finish(std::size_t u) {
    UnitState& s = units_.state(u);
    if (!s.reduced) return;
    std::optional<Request> request = std::exchange(s.reducing, std::nullopt);
    if (request) request->wait();
    weight_.wait();
    s.reduced = false;
    const std::span<float> shard = s.grad_shard.span();
    if (units_.float_wire()) {
      scale_in_place(shard, weight_.inverse());
    } else {
      convert_scaled(shard.data(), s.wire_shard.span().data(), shard.size(), 1.0);
      s.wire.release();
      s.wire_shard.release();
    }
    if (options_.stage == 1)
      std::fill(s.grads.span().begin(), s.grads.span().end(), 0.0f);
    else
      s.grads.release();
    units_.bind(u);
  }

  // Stages 2-3, in the backward hook of unit u: finishes the reduce-scatters of units above u
  // that are done, and waits for all but the latest `keep` of them, so full gradients do not
  // pile up until synchronize(). Every rank has started those by this hook (see the adapter).
  void retire(std::size_t u, std::size_t keep) {
    if (options_.stage == 1) return;
    std::size_t pending = 0;
    for (std::size_t v = u + 1; v < units_.count(); ++v) pending += units_.state(v).reduced ? 1 : 0;
    // Started in descending unit order: the oldest is the highest unit.
    for (std::size_t v = units_.count(); v-- > u + 1 && pending > 0;) {
      UnitState& s = units_.state(v);
      if (!s.reduced) continue;
      if (pending > keep || !s.reducing || s.reducing->test()) {
        finish(v);
        --pending;
      }
    }
  }

  // Finishes every reduce-scatter, each one even after a failure (so none outlives the step);
  // the first failure is thrown.
  void finish_all() {
    FirstFailure failures;
    for (std::size_t u = units_.count(); u-- > 0;)
      if (!failures.run([&] { finish(u); })) units_.state(u).reduced = false;
    failures.run([&] { weight_.wait(); });
    failures.rethrow();
  }

 private:
  // x = float(x * scale), computed in double: DataParallel's arithmetic (bucket.hpp), so the
  // averages match it bit for bit.
  static void scale_in_place(std::span<float> x, double scale) {
    if (scale == 1.0) return;
    for (float& v : x) v = static_cast<float>(static_cast<double>(v) * scale);
  }

  ShardedUnits& units_;
  Communicator<X>& comm_;
  const StepState& step_;
  StepGuard& guard_;
  const ShardedDataParallelOptions& options_;
  bool overlapping_;
  std::size_t started_ = 0;  // reduce-scatters started in this step
  TotalWeight weight_;
};

}  // namespace colt::detail
