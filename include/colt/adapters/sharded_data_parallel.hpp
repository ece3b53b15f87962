#pragma once
// ShardedDataParallel: data parallelism whose model state per rank falls as 1/p (ZeRO stages
// 1-3, Rajbhandari et al. 2020; PyTorch FSDP). Every rank still trains on its own share of the
// data and ends each step with the same model, but holds only a shard of what DataParallel
// replicates:
//
//   stage 1  optimizer state sharded. Gradients are reduce-scattered, each rank's optimizer
//            updates its shard of the parameters, and the parameters are all-gathered again:
//            the bytes of one all-reduce, as DataParallel.
//   stage 2  gradients sharded too: a unit's full gradient exists only from its backward until
//            its reduce-scatter ends. Same bytes on the wire.
//   stage 3  parameters sharded too: a unit's full parameters are all-gathered just before its
//            forward and again before its backward, and freed after; while one unit computes,
//            the next one's all-gather runs (prefetch, on the communicator's progress engine).
//            About 1.5x the bytes (two all-gathers and a reduce-scatter per step).
//
// Units are runs of whole tensors in registration order, up to `bucket_cap_bytes` (a larger
// tensor is a unit of its own): the granularity of gathering, freeing and reducing, like an
// FSDP-wrapped module. See shard_layout.hpp.
//
// Because it frees and re-creates the model's memory, the adapter owns it; the model keeps
// views. Each tensor is registered with its initial values and a binder,
//
//   sdp.add(initial, [&](std::span<float> p, std::span<float> g) { layer.w = p; layer.gw = g; });
//
// which the adapter calls whenever the tensor's storage appears or goes (empty spans). A step:
//
//   forward:   sdp.gather_for_forward(t) before tensor t's parameters are read
//   backward:  sdp.gather_for_backward(t) before they are read or its gradient written, then
//              gradients are *added* into the bound gradient (it starts each step at zero),
//              and sdp.mark_ready(t) once t's gradient is final
//   sdp.synchronize();             every rank's gradient shard holds the global average
//   sdp.step([&](const Shard& s) { optimizer(s); });   the caller's optimizer, shard by shard
//
// What carries over from DataParallel, with the same meaning: weighted averaging
// (set_local_samples), no_sync() accumulation (full gradients are kept until the synchronize
// after it, as FSDP's no_sync), unused parameters (a tensor not marked contributes zeros), any
// parameter count on any p. Options: communication in bfloat16 with float32 master shards;
// overlap (reduce-scatter a unit as soon as its gradients are marked) and prefetch.
//
// With colt::ordered communicators, and a float32 wire, the parameters after every step equal
// DataParallel's bitwise: the reduction sums in rank order either way, and the optimizer's
// arithmetic is elementwise.
//
// Checkpoints: gather_state(root)/load_state(state, root) move the full model state through
// one rank; save_shard/load_shards write one file per rank and read them back onto any p.
//
// Constructing one is collective (it duplicates the communicator), and so are the first hook
// (which plans the units and scatters rank 0's initial values), synchronize, step, and the
// checkpoint calls.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "colt/adapters/detail/own_communicator.hpp"
#include "colt/adapters/detail/registration.hpp"
#include "colt/adapters/detail/sharded_checkpoint.hpp"
#include "colt/adapters/detail/sharded_gathers.hpp"
#include "colt/adapters/detail/sharded_reduces.hpp"
#include "colt/adapters/detail/sharded_units.hpp"
#include "colt/adapters/detail/step_guard.hpp"
#include "colt/adapters/detail/step_state.hpp"
#include "colt/adapters/held_memory.hpp"
#include "colt/adapters/sharded_options.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/transport_concepts.hpp"

namespace colt {

// Its parts live in adapters/detail: the units' memory (sharded_units.hpp), the parameter
// gathers and gradient reduce-scatters the hooks run (sharded_gathers.hpp, sharded_reduces.hpp),
// and checkpoints (sharded_checkpoint.hpp); what it shares with DataParallel (step_state.hpp,
// total_weight.hpp, registration.hpp, own_communicator.hpp) lives there too.
template <Transport X>
class ShardedDataParallel {
 public:
  // While one lives, gradients accumulate in the full gradient buffers (see no_sync()).
  using NoSync = detail::StepState::NoSync;

  explicit ShardedDataParallel(Communicator<X>& comm,
                               const ShardedDataParallelOptions& options = {})
      : options_(checked(options, comm.rank())),
        rank_(comm.rank()),
        size_(comm.size()),
        step_(Operation::sharded_data_parallel, "backward hook", rank_),
        comm_(comm),
        gather_comm_(comm),
        overlapping_(options_.overlap && detail::concurrent_use_allowed(comm_->transport())),
        units_(options_),
        gathers_(units_, *gather_comm_, options_, overlapping_),
        reduces_(units_, *comm_, step_, step_guard_, options_, overlapping_),
        checkpoint_(units_, *comm_, step_guard_, step_, options_) {}

  ShardedDataParallel(const ShardedDataParallel&) = delete;
  ShardedDataParallel& operator=(const ShardedDataParallel&) = delete;

  // As DataParallel: abandoned in the middle of a step, both of its groups are aborted where
  // they can be, so peers fail at once instead of at their deadline.
  ~ShardedDataParallel() {
    if (!step_.open()) return;
    detail::abort_unfinished_step(*comm_, Operation::sharded_data_parallel, rank_);
    if (gather_comm_.get() != comm_.get())
      detail::abort_unfinished_step(*gather_comm_, Operation::sharded_data_parallel, rank_);
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  int stage() const { return options_.stage; }
  bool overlapping() const { return overlapping_; }
  const ShardedDataParallelOptions& options() const { return options_; }
  // The two communicators it runs on, dups of the caller's where the transport can split (else
  // the caller's own): reduce-scatters, agreement and checkpoints on the first, parameter
  // all-gathers on the second. With overlap each starts its progress thread (its
  // has_progress_thread() says so) with its first started call, and joins it on destruction.
  const Communicator<X>& reduce_communicator() const { return *comm_; }
  const Communicator<X>& gather_communicator() const { return *gather_comm_; }

  // Registers a tensor: `initial` (rank 0's are used on every rank; the span must stay valid
  // until the first hook) and the binder the adapter calls with its storage. Returns its index.
  std::size_t add(std::span<const float> initial, TensorBinder bind, std::string name = {}) {
    auto& tensors = units_.tensors();
    if (planned_) fail("add('" + name + "') after the first step: register every tensor first");
    if (!bind) fail("add('" + name + "'): no binder");
    if (name.empty()) name = "#" + std::to_string(tensors.size());
    tensors.push_back({initial, std::move(bind), std::move(name), false});
    return tensors.size() - 1;
  }

  // Ends the current unit after the last tensor added (a layer boundary): units hold whole
  // layers, gathered and freed together. Without it, units are cut by bucket_cap_bytes alone.
  void end_unit() {
    if (planned_) fail("end_unit() after the first step");
    if (units_.tensors().empty()) fail("end_unit() before any tensor was added");
    units_.tensors().back().ends_unit = true;
  }

  std::size_t tensor_count() const { return units_.tensors().size(); }
  std::size_t unit_count() {
    lay_out();
    return units_.count();
  }
  std::size_t unit_of(std::size_t tensor) {
    lay_out();
    return units_.layout().unit_of.at(tensor);
  }
  std::size_t parameter_count() const {
    std::size_t n = 0;
    for (const auto& t : units_.tensors()) n += t.initial.size();
    return n;
  }
  // Bytes held by kind, now and at peak (held_memory.hpp).
  const HeldMemory& memory() const { return units_.memory(); }
  HeldMemory& memory() { return units_.memory(); }

  // Before tensor `t`'s parameters are read in forward. Stages 1-2 wait for the unit's
  // all-gather that the last step() started (it overlaps the forward of the units before);
  // stage 3 gathers its unit (waiting for the prefetch that is usually already running), frees
  // the units behind it, and starts the next.
  void gather_for_forward(std::size_t t) {
    check_tensor(t, "gather_for_forward");
    lay_out();
    throw_if_broken();
    const std::size_t u = units_.layout().unit_of[t];
    if (options_.stage < 3) return guarded([&] { gathers_.finish(u); });
    guarded([&] {
      gathers_.ensure(u);
      gathers_.release_except(u, u + 1);
      if (gathers_.prefetching() && u + 1 < units_.count()) gathers_.start(u + 1);
    });
  }

  // Before tensor `t`'s parameters are read or its gradient written in backward: gathers its
  // unit's parameters (stage 3, prefetching the unit before it) and gives it a zeroed gradient
  // (stages 2 and 3, where gradients exist only between backward and their reduce-scatter).
  // Backward visits units in descending order, as FSDP's post-backward hooks assume: reaching
  // unit u, every unit above it is done, so their reduce-scatters start here if marks have not
  // started them (a tensor still unmarked counts as unused). Starting them at a hook, the same
  // on every rank, rather than only at marks, which differ where ranks leave different tensors
  // unused, lets a rank wait for an old reduce-scatter without waiting on a peer's future marks.
  void gather_for_backward(std::size_t t) {
    check_tensor(t, "gather_for_backward");
    lay_out();
    throw_if_broken();
    const std::size_t u = units_.layout().unit_of[t];
    if (!step_.accumulating()) {
      if (units_.state(u).reduced || reduces_.started(u))
        fail("gather_for_backward('" + units_.tensors()[t].name +
             "'): its unit was already reduce-scattered; backward must visit units in "
             "descending order");
      begin_step();
    }
    guarded([&] {
      if (options_.stage < 3) gathers_.finish(u);
      if (options_.stage == 3) {
        gathers_.ensure(u);
        gathers_.release_except(u, u == 0 ? u : u - 1);
        if (gathers_.prefetching() && u > 0) gathers_.start(u - 1);
      }
      if (!step_.accumulating()) {
        while (!reduces_.all_started() && reduces_.next() > u) reduces_.start(reduces_.next());
        reduces_.retire(u, 1);
      }
      units_.ensure_gradients(u);
    });
  }

  void set_local_samples(std::int64_t samples) { step_.set_local_samples(samples); }

  // Gradient t is final for this step; a unit is reduce-scattered once all its tensors are
  // (units start in descending order on every rank, the order backward finishes them).
  void mark_ready(std::size_t t) {
    check_tensor(t, "mark_ready");
    lay_out();
    throw_if_broken();
    if (step_.record_use(t)) return;
    const std::size_t u = units_.layout().unit_of[t];
    if (reduces_.started(u))
      fail("tensor '" + units_.tensors()[t].name +
           "' marked ready after its unit was reduce-scattered (backward had moved below it)");
    begin_step();
    step_.mark(t, u, units_.tensors()[t].name);
    if (overlapping_)
      while (!reduces_.all_started() && step_.missing(reduces_.next()) == 0)
        guarded([&] { reduces_.start(reduces_.next()); });
  }

  // Waits until every unit's gradient shard holds the global (weighted) average; frees what
  // the step gathered. Under no_sync() it only frees gathered parameters.
  void synchronize() {
    lay_out();
    throw_if_broken();
    if (step_.accumulating()) return guarded([&] { gathers_.release_all(); });
    begin_step();
    guarded([&] {
      while (!reduces_.all_started()) reduces_.start(reduces_.next());
      reduces_.finish_all();
      gathers_.release_all();
    });
    reset_step();
  }

  // Stage 3: frees every gathered unit now (after an evaluation pass outside a step, say).
  void release_gathered() {
    lay_out();
    throw_if_broken();
    guarded([&] { gathers_.release_all(); });
  }

  // Runs the caller's optimizer on every non-empty shard, then makes the new parameters
  // available: stages 1 and 2 all-gather them; stage 3 gathers each unit when next needed
  // (the first one right away, with prefetch).
  template <class Update>
  void step(Update&& update) {
    lay_out();
    throw_if_broken();
    if (step_.open()) fail("step() before synchronize(): the gradients are not averaged yet");
    guarded([&] { gathers_.finish_all(); });  // the optimizer writes what a gather may read
    for (std::size_t u = 0; u < units_.count(); ++u) {
      const ShardUnit& unit = units_.unit(u);
      if (unit.shard.size() == 0) continue;
      update(Shard{u, unit.offset + unit.shard.begin, units_.master(u),
                   units_.state(u).grad_shard.span(), units_.state(u).state.span()});
    }
    guarded([&] { gathers_.publish(); });
  }

  // While the guard lives, gradients accumulate in the full gradient buffers (marks only record
  // use); the first synchronize() after it averages them.
  NoSync no_sync() {
    lay_out();
    return step_.no_sync();
  }

  // Checkpoints (sharded_checkpoint.hpp), each with nothing in flight.
  // Every rank gets the full flat parameters (the master values): for evaluation and tests.
  std::vector<float> full_parameters() {
    settle();
    return checkpoint_.full_parameters();
  }
  // The whole model state at `root` (empty elsewhere).
  ModelState gather_state(int root) {
    check_root(root, "gather_state");
    settle();
    return checkpoint_.gather_state(root);
  }
  // Every rank takes its shards of `state`, which only `root` needs to hold.
  void load_state(const ModelState& state, int root) {
    check_root(root, "load_state");
    settle();
    checkpoint_.load_state(state, root);
    guarded([&] { gathers_.publish(); });
  }
  // Writes this rank's shards to shard_file_name(prefix, rank, size) (shard_file.hpp).
  void save_shard(const std::string& prefix) {
    settle();
    checkpoint_.save_shard(prefix);
  }
  // Reads the shard files that `saved_ranks` ranks wrote under `prefix`, onto this group of any
  // size: each rank reads the parts of every file that overlap its shards.
  void load_shards(const std::string& prefix, int saved_ranks) {
    settle();
    checkpoint_.load_shards(prefix, saved_ranks);
    guarded([&] { gathers_.publish(); });
  }

 private:
  [[noreturn]] void fail(const std::string& cause) const { step_.fail(cause); }
  // The options, checked before the collective dups (own_communicator.hpp).
  static const ShardedDataParallelOptions& checked(const ShardedDataParallelOptions& options,
                                                   int rank) {
    if (options.stage < 1 || options.stage > 3)
      detail::reject(Operation::sharded_data_parallel, rank,
                     "stage " + std::to_string(options.stage) + " is not 1, 2 or 3");
    if (options.bucket_cap_bytes < sizeof(float))
      detail::reject(Operation::sharded_data_parallel, rank, "bucket_cap_bytes must be at least 4");
    return options;
  }
  void check_tensor(std::size_t t, const char* what) const {
    if (t >= units_.tensors().size())
      fail(std::string(what) + "(" + std::to_string(t) + "): only " +
           std::to_string(units_.tensors().size()) + " tensors registered");
  }
  void check_root(int root, const char* what) const {
    if (root < 0 || root >= size_)
      fail(std::string(what) + ": root " + std::to_string(root) + " out of range for " +
           std::to_string(size_) + " ranks");
  }

  template <class Fn>
  void guarded(Fn&& fn) {
    step_guard_.guarded(std::forward<Fn>(fn));
  }
  void throw_if_broken() const { step_guard_.throw_if_broken(); }

  // At the first hook (or any first call): checks that every rank registered the same tensors,
  // plans the units, allocates what the stage keeps, and takes rank 0's initial values.
  void lay_out() {
    if (planned_) return;
    std::vector<std::uint64_t> keys;
    for (const auto& t : units_.tensors())
      keys.push_back(t.initial.size() * 2 + (t.ends_unit ? 1 : 0));
    detail::check_same_registration(*comm_, step_guard_, step_,
                                    std::span<const std::uint64_t>(keys), units_.tensors().size(),
                                    "sizes");
    units_.lay_out(size_, rank_);
    std::vector<std::size_t> unit_sizes;
    for (std::size_t u = 0; u < units_.count(); ++u)
      unit_sizes.push_back(units_.unit(u).end_tensor - units_.unit(u).first_tensor);
    step_.lay_out(units_.tensors().size(), std::move(unit_sizes));
    planned_ = true;
    reset_step();
    checkpoint_.scatter_initial();
    guarded([&] { gathers_.publish(); });
    for (std::size_t u = 0; u < units_.count(); ++u) units_.bind(u);
  }

  // Before a checkpoint call: planned, nothing in flight, no gathered copy that could go stale.
  void settle() {
    lay_out();
    throw_if_broken();
    if (step_.open()) fail("a checkpoint call in the middle of a step");
    guarded([&] {
      gathers_.finish_all();
      gathers_.release_all();
    });
  }

  // The step begins at its first backward hook (or, without one, at a mark or synchronize):
  // its sample count is fixed and its total weight learnt (sharded_reduces.hpp says why here).
  void begin_step() {
    if (step_.open()) return;
    step_.begin();
    reduces_.learn_total_weight();
  }
  void reset_step() {
    step_.reset();
    reduces_.reset();
  }

  const ShardedDataParallelOptions options_;
  int rank_;
  int size_;
  detail::StepState step_;  // marks, no_sync(), samples (step_state.hpp)
  detail::StepGuard step_guard_;
  // Two communicators: reduce-scatters start when backward's marks complete a unit, gathers
  // when hooks ask for one, and with unused tensors the marks differ between ranks, so the two
  // kinds would interleave in a different order on each rank. Each kind on a communicator of
  // its own is started in the same order everywhere. (A transport that cannot split runs
  // both, blocking, in hook and synchronize order on the caller's communicator.)
  detail::OwnCommunicator<X> comm_;         // reductions, agreement, checkpoints
  detail::OwnCommunicator<X> gather_comm_;  // parameter all-gathers
  bool overlapping_;
  detail::ShardedUnits units_;  // tensors, units, their memory; before the parts that use it
  detail::ShardedGathers<X> gathers_;
  detail::ShardedReduces<X> reduces_;  // destroyed first: its total weight may be in flight
  detail::ShardedCheckpoint<X> checkpoint_;
  bool planned_ = false;
};

}  // namespace colt
