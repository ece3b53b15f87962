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

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "colt/adapters/bucket.hpp"
#include "colt/adapters/detail/step_guard.hpp"
#include "colt/adapters/held_memory.hpp"
#include "colt/adapters/shard_file.hpp"
#include "colt/adapters/shard_layout.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/gather.hpp"
#include "colt/collectives/reduce_scatter.hpp"
#include "colt/collectives/scatter.hpp"
#include "colt/core/bfloat16.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/detail/fnv1a.hpp"
#include "colt/core/error.hpp"
#include "colt/core/request.hpp"

namespace colt {

enum class ShardWire : unsigned char {
  float32,   // gradients and parameters travel as float: exact, as DataParallel
  bfloat16,  // half the bytes; float32 master shards, gradients prescaled by 1/N before the sum
};

struct ShardedDataParallelOptions {
  int stage = 3;                                        // 1, 2 or 3 (see above)
  std::size_t bucket_cap_bytes = std::size_t{4} << 20;  // the unit size, in float32 bytes
  bool weighted = false;                                // as DataParallelOptions::weighted
  // Start a unit's reduce-scatter as soon as its gradients are marked, and (stage 3) the next
  // unit's all-gather while this one computes. Needs a transport whose communicators may be
  // driven from two threads (as DataParallel's overlap); otherwise collectives run in the
  // hooks, on the calling thread.
  bool overlap = true;
  bool prefetch = true;  // stage 3, with overlap
  ShardWire wire = ShardWire::float32;
  std::size_t state_per_parameter = 2;  // optimizer floats per parameter (Adam: 2, SGD: 0)
  Algorithm algorithm = Algorithm::automatic;
};

// What the caller's optimizer gets, per unit: its shard of the parameters (the float32 master
// values), of the averaged gradient, and of the optimizer state.
struct Shard {
  std::size_t unit = 0;
  std::size_t offset = 0;  // the shard's first element in the flat (registration) order
  std::span<float> parameters;
  std::span<const float> gradients;
  std::span<float> state;  // state_per_parameter slots of parameters.size() floats each
  std::span<float> state_slot(std::size_t j) const {
    return state.subspan(j * parameters.size(), parameters.size());
  }
};

// The whole model state in one place (gather_state/load_state): flat in registration order.
struct ModelState {
  std::vector<float> parameters;
  std::vector<float> optimizer_state;  // state_per_parameter slots of parameters.size() each
  std::size_t state_per_parameter = 0;
};

using TensorBinder = std::function<void(std::span<float> parameters, std::span<float> gradients)>;

template <Transport X>
class ShardedDataParallel {
 public:
  class NoSync;

  explicit ShardedDataParallel(Communicator<X>& comm,
                               const ShardedDataParallelOptions& options = {})
      : options_(options), rank_(comm.rank()), size_(comm.size()) {
    if (options_.stage < 1 || options_.stage > 3)
      fail("stage " + std::to_string(options_.stage) + " is not 1, 2 or 3");
    if (options_.bucket_cap_bytes < sizeof(float)) fail("bucket_cap_bytes must be at least 4");
    if constexpr (SplittableTransport<X>) {
      own_.emplace(comm.dup());
      comm_ = &*own_;
      own_gather_.emplace(comm.dup());
      gather_comm_ = &*own_gather_;
    } else {
      comm_ = gather_comm_ = &comm;
    }
    overlapping_ = options_.overlap && detail::concurrent_use_allowed(comm_->transport());
  }

  ShardedDataParallel(const ShardedDataParallel&) = delete;
  ShardedDataParallel& operator=(const ShardedDataParallel&) = delete;

  // As DataParallel: abandoned in the middle of a step, both of its groups are aborted where
  // they can be, so peers fail at once instead of at their deadline.
  ~ShardedDataParallel() {
    if (!step_open_) return;
    detail::abort_unfinished_step(*comm_, "ShardedDataParallel", rank_);
    if (gather_comm_ != comm_)
      detail::abort_unfinished_step(*gather_comm_, "ShardedDataParallel", rank_);
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  int stage() const { return options_.stage; }
  bool overlapping() const { return overlapping_; }
  const ShardedDataParallelOptions& options() const { return options_; }

  // Registers a tensor: `initial` (rank 0's are used on every rank; the span must stay valid
  // until the first hook) and the binder the adapter calls with its storage. Returns its index.
  std::size_t add(std::span<const float> initial, TensorBinder bind, std::string name = {}) {
    if (planned_) fail("add('" + name + "') after the first step: register every tensor first");
    if (!bind) fail("add('" + name + "'): no binder");
    if (name.empty()) name = "#" + std::to_string(tensors_.size());
    tensors_.push_back({initial, std::move(bind), std::move(name), false});
    return tensors_.size() - 1;
  }

  // Ends the current unit after the last tensor added (a layer boundary): units hold whole
  // layers, gathered and freed together. Without it, units are cut by bucket_cap_bytes alone.
  void end_unit() {
    if (planned_) fail("end_unit() after the first step");
    if (tensors_.empty()) fail("end_unit() before any tensor was added");
    tensors_.back().ends_unit = true;
  }

  std::size_t tensor_count() const { return tensors_.size(); }
  std::size_t unit_count() {
    plan();
    return layout_.units.size();
  }
  std::size_t unit_of(std::size_t tensor) {
    plan();
    return layout_.unit_of.at(tensor);
  }
  std::size_t parameter_count() const {
    std::size_t n = 0;
    for (const auto& t : tensors_) n += t.initial.size();
    return n;
  }
  // Bytes held by kind, now and at peak (held_memory.hpp).
  const HeldMemory& memory() const { return memory_; }
  HeldMemory& memory() { return memory_; }

  // Before tensor `t`'s parameters are read in forward. Stages 1-2 wait for the unit's
  // all-gather that the last step() started (it overlaps the forward of the units before);
  // stage 3 gathers its unit (waiting for the prefetch that is usually already running), frees
  // the units behind it, and starts the next.
  void gather_for_forward(std::size_t t) {
    check_tensor(t, "gather_for_forward");
    plan();
    throw_if_broken();
    const std::size_t u = layout_.unit_of[t];
    if (options_.stage < 3) return guarded([&] { finish_gather(u); });
    guarded([&] {
      ensure_gathered(u);
      release_gathered_except(u, u + 1);
      if (prefetching() && u + 1 < units_.size()) start_gather(u + 1);
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
    plan();
    throw_if_broken();
    const std::size_t u = layout_.unit_of[t];
    if (no_sync_depth_ == 0) {
      if (units_[u].reduced || reduced_before(u))
        fail("gather_for_backward('" + tensors_[t].name +
             "'): its unit was already reduce-scattered; backward must visit units in "
             "descending order");
      open_step();
    }
    guarded([&] {
      if (options_.stage < 3) finish_gather(u);
      if (options_.stage == 3) {
        ensure_gathered(u);
        release_gathered_except(u, u == 0 ? u : u - 1);
        if (prefetching() && u > 0) start_gather(u - 1);
      }
      if (no_sync_depth_ == 0) {
        while (reduces_started_ < units_.size() && next_to_reduce() > u)
          start_reduce(next_to_reduce());
        retire_reduces(u, 1);
      }
      ensure_gradients(u);
    });
  }

  void set_local_samples(std::int64_t samples) {
    if (samples < 0) fail("set_local_samples: negative count " + std::to_string(samples));
    if (step_open_) fail("set_local_samples after the step's first backward hook");
    local_samples_ = samples;
  }

  // Gradient t is final for this step; a unit is reduce-scattered once all its tensors are
  // (units start in descending order on every rank, the order backward finishes them).
  void mark_ready(std::size_t t) {
    check_tensor(t, "mark_ready");
    plan();
    throw_if_broken();
    if (no_sync_depth_ > 0) {
      used_[t] = true;
      return;
    }
    if (marked_[t]) fail("tensor '" + tensors_[t].name + "' marked ready twice in one step");
    if (reduced_before(layout_.unit_of[t]))
      fail("tensor '" + tensors_[t].name +
           "' marked ready after its unit was reduce-scattered (backward had moved below it)");
    marked_[t] = true;
    open_step();
    --missing_[layout_.unit_of[t]];
    if (overlapping_)
      while (reduces_started_ < units_.size() && missing_[next_to_reduce()] == 0)
        guarded([&] { start_reduce(next_to_reduce()); });
  }

  // Waits until every unit's gradient shard holds the global (weighted) average; frees what
  // the step gathered. Under no_sync() it only frees gathered parameters.
  void synchronize() {
    plan();
    throw_if_broken();
    if (no_sync_depth_ > 0) {
      guarded([&] { release_gathered_except(none, none); });
      return;
    }
    open_step();
    guarded([&] {
      while (reduces_started_ < units_.size()) start_reduce(next_to_reduce());
      finish_reduces();
      release_gathered_except(none, none);
    });
    reset_step();
  }

  // Stage 3: frees every gathered unit now (after an evaluation pass outside a step, say).
  void release_gathered() {
    plan();
    throw_if_broken();
    guarded([&] { release_gathered_except(none, none); });
  }

  // Runs the caller's optimizer on every non-empty shard, then makes the new parameters
  // available: stages 1 and 2 all-gather them; stage 3 gathers each unit when next needed
  // (the first one right away, with prefetch).
  template <class Update>
  void step(Update&& update) {
    plan();
    throw_if_broken();
    if (step_open_) fail("step() before synchronize(): the gradients are not averaged yet");
    guarded([&] { finish_all_gathers(); });  // the optimizer writes what a gather may read
    for (std::size_t u = 0; u < units_.size(); ++u) {
      const ShardUnit& unit = layout_.units[u];
      if (unit.shard.size() == 0) continue;
      update(Shard{u, unit.offset + unit.shard.begin, master(u), units_[u].grad_shard.span(),
                   units_[u].state.span()});
    }
    guarded([&] { publish(); });
  }

  // While the guard lives, gradients accumulate in the full gradient buffers (marks only record
  // use); the first synchronize() after it averages them.
  class [[nodiscard]] NoSync {
   public:
    explicit NoSync(ShardedDataParallel& s) : s_(&s) {
      if (s.step_open_) s.fail("no_sync() in the middle of a step");
      ++s.no_sync_depth_;
    }
    NoSync(NoSync&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
    NoSync& operator=(NoSync&&) = delete;
    ~NoSync() {
      if (s_) --s_->no_sync_depth_;
    }

   private:
    ShardedDataParallel* s_;
  };
  NoSync no_sync() {
    plan();
    return NoSync(*this);
  }

  // Every rank gets the full flat parameters (the master values): for evaluation and tests.
  std::vector<float> full_parameters() {
    plan();
    settle();
    std::vector<float> out(layout_.total);
    guarded([&] {
      for (std::size_t u = 0; u < units_.size(); ++u) {
        const ShardUnit& unit = layout_.units[u];
        all_gather_v(*comm_, std::span<const float>(master(u)),
                     std::span<float>(out).subspan(unit.offset, unit.count),
                     std::span<const std::size_t>(unit.counts), options_.algorithm);
      }
    });
    return out;
  }

  // The whole model state at `root` (empty elsewhere).
  ModelState gather_state(int root) {
    check_root(root, "gather_state");
    plan();
    settle();
    ModelState state;
    const std::size_t k = options_.state_per_parameter;
    state.state_per_parameter = k;
    if (rank_ == root) {
      state.parameters.resize(layout_.total);
      state.optimizer_state.resize(k * layout_.total);
    }
    guarded([&] {
      for (std::size_t u = 0; u < units_.size(); ++u) {
        const ShardUnit& unit = layout_.units[u];
        const auto at = [&](std::vector<float>& v, std::size_t base) {
          return rank_ == root ? std::span<float>(v).subspan(base + unit.offset, unit.count)
                               : std::span<float>();
        };
        gather_v(*comm_, std::span<const float>(master(u)), at(state.parameters, 0),
                 std::span<const std::size_t>(unit.counts), root);
        for (std::size_t j = 0; j < k; ++j)
          gather_v(*comm_, std::span<const float>(state_slot(u, j)),
                   at(state.optimizer_state, j * layout_.total),
                   std::span<const std::size_t>(unit.counts), root);
      }
    });
    return state;
  }

  // Every rank takes its shards of `state`, which only `root` needs to hold.
  void load_state(const ModelState& state, int root) {
    check_root(root, "load_state");
    plan();
    settle();
    std::string problem;
    if (rank_ == root) {
      if (state.parameters.size() != layout_.total)
        problem = "the state holds " + std::to_string(state.parameters.size()) +
                  " parameters, the model " + std::to_string(layout_.total);
      else if (state.state_per_parameter != options_.state_per_parameter ||
               state.optimizer_state.size() != state.state_per_parameter * layout_.total)
        problem = "the state's optimizer state does not match state_per_parameter " +
                  std::to_string(options_.state_per_parameter);
    }
    agree_or_throw(problem, "load_state");
    guarded([&] {
      for (std::size_t u = 0; u < units_.size(); ++u) {
        const ShardUnit& unit = layout_.units[u];
        const auto at = [&](const std::vector<float>& v, std::size_t base) {
          return rank_ == root ? std::span<const float>(v).subspan(base + unit.offset, unit.count)
                               : std::span<const float>();
        };
        scatter_v(*comm_, at(state.parameters, 0), master(u),
                  std::span<const std::size_t>(unit.counts), root);
        for (std::size_t j = 0; j < options_.state_per_parameter; ++j)
          scatter_v(*comm_, at(state.optimizer_state, j * layout_.total), state_slot(u, j),
                    std::span<const std::size_t>(unit.counts), root);
      }
      publish();
    });
  }

  // Writes this rank's shards to shard_file_name(prefix, rank, size) (shard_file.hpp).
  void save_shard(const std::string& prefix) {
    plan();
    settle();
    std::vector<ShardSegment> segments;
    for (std::size_t u = 0; u < units_.size(); ++u) {
      const ShardUnit& unit = layout_.units[u];
      if (unit.shard.size() == 0) continue;
      segments.push_back({unit.offset + unit.shard.begin, master(u),
                          std::span<const float>(units_[u].state.span())});
    }
    std::string problem;
    try {
      write_shard_file(shard_file_name(prefix, rank_, size_), size_, rank_,
                       options_.state_per_parameter, std::span<const std::size_t>(sizes_),
                       layout_.total, segments);
    } catch (const Error& e) {
      problem = e.what();
    }
    agree_or_throw(problem, "save_shard");
  }

  // Reads the shard files that `saved_ranks` ranks wrote under `prefix`, onto this group of any
  // size: each rank reads the parts of every file that overlap its shards.
  void load_shards(const std::string& prefix, int saved_ranks) {
    plan();
    settle();
    std::string problem;
    try {
      if (saved_ranks < 1) fail("load_shards: saved_ranks must be at least 1");
      std::size_t supplied = 0;
      for (int r = 0; r < saved_ranks; ++r) {
        ShardFileReader file(shard_file_name(prefix, r, saved_ranks), saved_ranks, r,
                             options_.state_per_parameter, std::span<const std::size_t>(sizes_),
                             rank_);
        for (std::size_t u = 0; u < units_.size(); ++u) {
          const ShardUnit& unit = layout_.units[u];
          supplied +=
              file.read_overlap(unit.offset + unit.shard.begin, master(u), units_[u].state.span());
        }
      }
      if (supplied != layout_.shard_elements())
        fail("load_shards: the files under '" + prefix + "' supply " + std::to_string(supplied) +
             " of this rank's " + std::to_string(layout_.shard_elements()) + " elements");
    } catch (const Error& e) {
      problem = e.what();
    }
    agree_or_throw(problem, "load_shards");
    guarded([&] { publish(); });
  }

 private:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  struct TensorEntry {
    std::span<const float> initial;
    TensorBinder bind;
    std::string name;
    bool ends_unit = false;
  };

  // One unit's storage and collectives in flight. Requests are declared after the buffers
  // they use, so they are waited for (destroyed) before the buffers go.
  struct UnitState {
    HeldBuffer<float> params;         // full parameters (stages 1-2 always; 3 while gathered)
    HeldBuffer<float> master;         // the float32 shard, where it is not a view of `params`
    HeldBuffer<float> grads;          // full gradient (stage 1 always; 2-3 backward to reduce)
    HeldBuffer<float> grad_shard;     // the averaged gradient shard
    HeldBuffer<float> state;          // optimizer state of the shard
    HeldBuffer<bfloat16> wire;        // bfloat16 staging of params or grads (full unit)
    HeldBuffer<bfloat16> wire_shard;  // bfloat16 reduce-scatter output
    bool gathered = false;            // params hold this step's values
    bool reduced = false;             // this step's reduce-scatter was started
    std::optional<Request> gathering;
    std::optional<Request> reducing;
  };

  [[noreturn]] void fail(const std::string& cause) const {
    throw Error(ErrorKind::invalid_argument, "ShardedDataParallel", rank_, no_peer, cause);
  }
  void check_tensor(std::size_t t, const char* what) const {
    if (t >= tensors_.size())
      fail(std::string(what) + "(" + std::to_string(t) + "): only " +
           std::to_string(tensors_.size()) + " tensors registered");
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

  // A local problem on some rank (a bad file, a bad state at the root) fails every rank, with
  // the same kind, before any rank goes on to a collective the others would never join.
  void agree_or_throw(const std::string& problem, const char* what) {
    std::int32_t bad[2] = {problem.empty() ? -1 : rank_, 0};
    guarded([&] { all_reduce(*comm_, std::span<std::int32_t>(bad, 1), max{}); });
    if (bad[0] < 0) return;
    if (!problem.empty()) throw Error(ErrorKind::invalid_argument, what, rank_, no_peer, problem);
    throw Error(ErrorKind::invalid_argument, what, rank_, bad[0],
                "rank " + std::to_string(bad[0]) + " could not " + what);
  }

  bool prefetching() const { return overlapping_ && options_.prefetch; }
  bool float_wire() const { return options_.wire == ShardWire::float32; }
  // Stages 1 and 2 keep the full parameters; with a float wire the master shard is their slice.
  bool master_is_view() const { return options_.stage < 3 && float_wire(); }

  std::span<float> master(std::size_t u) {
    const ShardUnit& unit = layout_.units[u];
    if (master_is_view())
      return units_[u].params.span().subspan(unit.shard.begin, unit.shard.size());
    return units_[u].master.span();
  }
  std::span<float> state_slot(std::size_t u, std::size_t j) {
    const std::size_t n = layout_.units[u].shard.size();
    return units_[u].state.span().subspan(j * n, n);
  }

  // The tensor's views into its unit's current storage (empty where none is held).
  void bind(std::size_t u) {
    const ShardUnit& unit = layout_.units[u];
    UnitState& s = units_[u];
    for (std::size_t t = unit.first_tensor; t < unit.end_tensor; ++t) {
      const std::size_t at = layout_.tensor_offset[t] - unit.offset;
      const std::size_t n = sizes_[t];
      tensors_[t].bind(
          s.params.held() && s.gathered ? s.params.span().subspan(at, n) : std::span<float>(),
          s.grads.held() ? s.grads.span().subspan(at, n) : std::span<float>());
    }
  }

  // Plans units, allocates what the stage keeps, and takes rank 0's initial values.
  void plan() {
    if (planned_) return;
    if (tensors_.empty()) fail("no tensors registered");
    std::uint64_t fingerprint = detail::fnv1a_basis;
    std::vector<bool> ends;
    for (const auto& t : tensors_) {
      sizes_.push_back(t.initial.size());
      ends.push_back(t.ends_unit);
      fingerprint = detail::fnv1a_u64(t.initial.size() * 2 + (t.ends_unit ? 1 : 0), fingerprint);
    }
    const auto f = static_cast<std::int64_t>(fingerprint >> 1);
    std::int64_t extremes[2] = {f, -f};
    guarded([&] { all_reduce(*comm_, std::span<std::int64_t>(extremes), max{}); });
    if (extremes[0] != -extremes[1])
      fail("ranks registered different tensors (this rank: " + std::to_string(tensors_.size()) +
           " tensors); every rank must add the same sizes in the same order");
    layout_ = plan_shard_layout(std::span<const std::size_t>(sizes_), ends,
                                std::max<std::size_t>(1, options_.bucket_cap_bytes / sizeof(float)),
                                size_, rank_);
    units_.resize(layout_.units.size());
    const std::size_t k = options_.state_per_parameter;
    for (std::size_t u = 0; u < units_.size(); ++u) {
      const ShardUnit& unit = layout_.units[u];
      UnitState& s = units_[u];
      s.params = HeldBuffer<float>(memory_, Holding::parameters);
      s.master = HeldBuffer<float>(memory_, Holding::parameters);
      s.grads = HeldBuffer<float>(memory_, Holding::gradients);
      s.grad_shard = HeldBuffer<float>(memory_, Holding::gradients);
      s.state = HeldBuffer<float>(memory_, Holding::optimizer_state);
      s.wire = HeldBuffer<bfloat16>(memory_, Holding::buffers);
      s.wire_shard = HeldBuffer<bfloat16>(memory_, Holding::buffers);
      if (options_.stage < 3) {
        s.params.allocate_zeroed(unit.count);
        s.gathered = true;
      }
      if (!master_is_view()) s.master.allocate_zeroed(unit.shard.size());
      if (options_.stage == 1) s.grads.allocate_zeroed(unit.count);
      s.grad_shard.allocate_zeroed(unit.shard.size());
      s.state.allocate_zeroed(k * unit.shard.size());
    }
    marked_.assign(tensors_.size(), false);
    used_.assign(tensors_.size(), false);
    planned_ = true;
    reset_step();
    // Rank 0's initial values, unit by unit (packed there, scattered to the shards).
    std::vector<float> packed;
    for (std::size_t u = 0; u < units_.size(); ++u) {
      const ShardUnit& unit = layout_.units[u];
      if (rank_ == 0) {
        packed.resize(unit.count);
        for (std::size_t t = unit.first_tensor; t < unit.end_tensor; ++t)
          std::copy(
              tensors_[t].initial.begin(), tensors_[t].initial.end(),
              packed.begin() + static_cast<std::ptrdiff_t>(layout_.tensor_offset[t] - unit.offset));
      }
      guarded([&] {
        scatter_v(*comm_, std::span<const float>(packed), master(u),
                  std::span<const std::size_t>(unit.counts), 0);
      });
    }
    for (auto& t : tensors_) t.initial = {};
    guarded([&] { publish(); });
    for (std::size_t u = 0; u < units_.size(); ++u) bind(u);
  }

  // Starts gathering unit u's full parameters from the master shards (stage 3, or after an
  // optimizer step in stages 1-2), unless they are held or on their way.
  void start_gather(std::size_t u) {
    UnitState& s = units_[u];
    if (s.gathered || s.gathering) return;
    const ShardUnit& unit = layout_.units[u];
    const auto counts = std::span<const std::size_t>(unit.counts);
    if (!s.params.held()) s.params.allocate_for_overwrite(unit.count);  // the gather fills it
    if (float_wire()) {
      const std::span<float> full = s.params.span();
      const std::span<float> mine = full.subspan(unit.shard.begin, unit.shard.size());
      if (!master_is_view()) std::copy(master(u).begin(), master(u).end(), mine.begin());
      s.gathering.emplace(overlapping_
                              ? iall_gather_v(*gather_comm_, mine, full, counts, options_.algorithm)
                              : Request());
      if (!overlapping_) all_gather_v(*gather_comm_, mine, full, counts, options_.algorithm);
    } else {
      s.wire.allocate_for_overwrite(unit.count);  // the gather fills it
      const std::span<bfloat16> full = s.wire.span();
      const std::span<bfloat16> mine = full.subspan(unit.shard.begin, unit.shard.size());
      detail::convert_scaled(mine.data(), master(u).data(), mine.size(), 1.0);
      s.gathering.emplace(overlapping_
                              ? iall_gather_v(*gather_comm_, mine, full, counts, options_.algorithm)
                              : Request());
      if (!overlapping_) all_gather_v(*gather_comm_, mine, full, counts, options_.algorithm);
    }
  }

  // Waits for unit u's gather (starting it if needed), widens a bfloat16 wire, binds.
  void ensure_gathered(std::size_t u) {
    UnitState& s = units_[u];
    if (s.gathered) return;
    start_gather(u);
    finish_gather(u);
  }
  void finish_gather(std::size_t u) {
    UnitState& s = units_[u];
    if (!s.gathering) return;
    std::optional<Request> request = std::exchange(s.gathering, std::nullopt);
    request->wait();
    if (!float_wire()) {
      detail::convert_scaled(s.params.span().data(), s.wire.span().data(), s.params.size(), 1.0);
      s.wire.release();
    }
    s.gathered = true;
    bind(u);
  }

  // Stage 3: frees every gathered unit but `keep_a` and `keep_b` (a prefetch still on its way
  // is waited for first: its buffer is in use).
  void release_gathered_except(std::size_t keep_a, std::size_t keep_b) {
    if (options_.stage < 3) return;
    for (std::size_t u = 0; u < units_.size(); ++u) {
      if (u == keep_a || u == keep_b) continue;
      UnitState& s = units_[u];
      if (!s.gathered && !s.gathering) continue;
      finish_gather(u);
      s.params.release();
      s.gathered = false;
      bind(u);
    }
  }

  // Stages 2-3: unit u's full gradient, zeroed, from its first backward hook on.
  void ensure_gradients(std::size_t u) {
    UnitState& s = units_[u];
    if (s.grads.held()) return;
    s.grads.allocate_zeroed(layout_.units[u].count);
    bind(u);
  }

  // x = float(x * scale), computed in double: DataParallel's arithmetic (bucket.hpp), so the
  // averages match it bit for bit.
  static void scale_in_place(std::span<float> x, double scale) {
    if (scale == 1.0) return;
    for (float& v : x) v = static_cast<float>(static_cast<double>(v) * scale);
  }

  std::size_t next_to_reduce() const { return units_.size() - 1 - reduces_started_; }

  // The step's total weight: the rank count, or, weighted, the sum of sample counts.
  void learn_total_weight() {
    total_weight_ = options_.weighted ? step_samples_ : size_;
    if (!options_.weighted) return;
    if (overlapping_ && float_wire())
      weight_request_.emplace(
          iall_reduce(*comm_, std::span<std::int64_t>(&total_weight_, 1), sum{}));
    else
      all_reduce(*comm_, std::span<std::int64_t>(&total_weight_, 1), sum{});
  }
  double inverse_total() const {
    return total_weight_ > 0 ? 1.0 / static_cast<double>(total_weight_) : 0.0;
  }

  // Zeroes what the unit's unused tensors hold, scales by this rank's weight (a float wire;
  // a bfloat16 wire also by 1/total, so the 16-bit sum cannot overflow) and starts the
  // reduce-scatter into the gradient shard.
  void start_reduce(std::size_t u) {
    if (reduces_started_ == 0) learn_total_weight();
    ++reduces_started_;
    const ShardUnit& unit = layout_.units[u];
    UnitState& s = units_[u];
    ensure_gradients(u);
    const std::span<float> full = s.grads.span();
    for (std::size_t t = unit.first_tensor; t < unit.end_tensor; ++t)
      if (!marked_[t] && !used_[t])
        std::fill_n(
            full.begin() + static_cast<std::ptrdiff_t>(layout_.tensor_offset[t] - unit.offset),
            sizes_[t], 0.0f);
    const double weight = static_cast<double>(options_.weighted ? step_samples_ : 1);
    const auto counts = std::span<const std::size_t>(unit.counts);
    s.reduced = true;
    if (float_wire()) {
      if (weight == 0.0)
        std::fill(full.begin(), full.end(), 0.0f);
      else
        scale_in_place(full, weight);
      const std::span<float> out = s.grad_shard.span();
      if (overlapping_)
        s.reducing.emplace(ireduce_scatter_v(*comm_, std::span<const float>(full), out, counts,
                                             sum{}, options_.algorithm));
      else
        reduce_scatter_v(*comm_, std::span<const float>(full), out, counts, sum{},
                         options_.algorithm);
    } else {
      s.wire.allocate_zeroed(unit.count);
      s.wire_shard.allocate_for_overwrite(unit.shard.size());  // the reduce-scatter's output
      const double scale = weight * inverse_total();
      if (scale != 0.0)
        detail::convert_scaled(s.wire.span().data(), full.data(), full.size(), scale);
      const std::span<const bfloat16> in = s.wire.span();
      const std::span<bfloat16> out = s.wire_shard.span();
      if (overlapping_)
        s.reducing.emplace(ireduce_scatter_v(*comm_, in, out, counts, sum{}, options_.algorithm));
      else
        reduce_scatter_v(*comm_, in, out, counts, sum{}, options_.algorithm);
    }
  }

  // Finishes unit u's reduce-scatter: waits for it, scales the shard by 1/total and frees the
  // full gradient (stage 1 zeroes it for the next step).
  void finish_reduce(std::size_t u) {
    UnitState& s = units_[u];
    if (!s.reduced) return;
    std::optional<Request> request = std::exchange(s.reducing, std::nullopt);
    if (request) request->wait();
    if (weight_request_) std::exchange(weight_request_, std::nullopt)->wait();
    s.reduced = false;
    const std::span<float> shard = s.grad_shard.span();
    if (float_wire()) {
      scale_in_place(shard, inverse_total());
    } else {
      detail::convert_scaled(shard.data(), s.wire_shard.span().data(), shard.size(), 1.0);
      s.wire.release();
      s.wire_shard.release();
    }
    if (options_.stage == 1)
      std::fill(s.grads.span().begin(), s.grads.span().end(), 0.0f);
    else
      s.grads.release();
    bind(u);
  }

  // Stages 2-3, in the backward hook of unit u: finishes the reduce-scatters of units above u
  // that are done, and waits for all but the latest `keep` of them, so full gradients do not
  // pile up until synchronize(). Every rank has started those by this hook (see above).
  void retire_reduces(std::size_t u, std::size_t keep) {
    if (options_.stage == 1) return;
    std::size_t pending = 0;
    for (std::size_t v = u + 1; v < units_.size(); ++v) pending += units_[v].reduced ? 1 : 0;
    // Started in descending unit order: the oldest is the highest unit.
    for (std::size_t v = units_.size(); v-- > u + 1 && pending > 0;) {
      UnitState& s = units_[v];
      if (!s.reduced) continue;
      if (pending > keep || !s.reducing || s.reducing->test()) {
        finish_reduce(v);
        --pending;
      }
    }
  }

  // Whether unit u's reduce-scatter has been started in this step (finished or not).
  bool reduced_before(std::size_t u) const {
    return reduces_started_ > 0 && u >= units_.size() - reduces_started_;
  }

  // Finishes every reduce-scatter, each one even after a failure (so none outlives the step);
  // the first failure is thrown.
  void finish_reduces() {
    std::exception_ptr first;
    for (std::size_t u = units_.size(); u-- > 0;) {
      try {
        finish_reduce(u);
      } catch (...) {
        if (!first) first = std::current_exception();
        units_[u].reduced = false;
      }
    }
    if (weight_request_) {
      try {
        std::exchange(weight_request_, std::nullopt)->wait();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
  }

  // After the master shards changed: stages 1-2 start the all-gather of every unit, in unit
  // order, and leave them running: the forward hooks wait for each unit's, so the gathers
  // overlap the next forward (the models' views are empty meanwhile). Stage 3 drops stale
  // gathers and, with prefetch, starts unit 0.
  void publish() {
    if (options_.stage == 3) {
      release_gathered_except(none, none);
      if (prefetching()) start_gather(0);
      return;
    }
    for (std::size_t u = 0; u < units_.size(); ++u) {
      units_[u].gathered = false;
      bind(u);
      start_gather(u);
    }
    if (!overlapping_) finish_all_gathers();
  }

  // Waits for every gather in flight, each even after a failure; the first failure is thrown.
  void finish_all_gathers() {
    std::exception_ptr first;
    for (std::size_t u = 0; u < units_.size(); ++u) {
      try {
        finish_gather(u);
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
  }

  // Before a checkpoint call: nothing in flight, no gathered copy that could go stale.
  void settle() {
    throw_if_broken();
    if (step_open_) fail("a checkpoint call in the middle of a step");
    guarded([&] {
      finish_all_gathers();
      release_gathered_except(none, none);
    });
  }

  void open_step() {
    if (step_open_) return;
    step_open_ = true;
    step_samples_ = local_samples_;
  }
  void reset_step() {
    std::fill(marked_.begin(), marked_.end(), false);
    std::fill(used_.begin(), used_.end(), false);
    missing_.assign(units_.size(), 0);
    for (std::size_t u = 0; u < units_.size(); ++u)
      missing_[u] = layout_.units[u].end_tensor - layout_.units[u].first_tensor;
    reduces_started_ = 0;
    step_open_ = false;
  }

  ShardedDataParallelOptions options_;
  int rank_;
  int size_;
  // Two communicators: reduce-scatters start when backward's marks complete a unit, gathers
  // when hooks ask for one, and with unused tensors the marks differ between ranks, so the two
  // kinds would interleave in a different order on each rank. Each kind on a communicator of
  // its own is started in the same order everywhere. (A transport that cannot split runs
  // both, blocking, in hook and synchronize order on the caller's communicator.)
  std::optional<Communicator<X>> own_;
  std::optional<Communicator<X>> own_gather_;
  Communicator<X>* comm_ = nullptr;         // reductions, agreement, checkpoints
  Communicator<X>* gather_comm_ = nullptr;  // parameter all-gathers
  bool overlapping_ = false;

  std::vector<TensorEntry> tensors_;
  std::vector<std::size_t> sizes_;
  ShardLayout layout_;
  HeldMemory memory_;
  std::vector<UnitState> units_;  // after memory_: destroyed (and waited for) first
  bool planned_ = false;

  std::vector<bool> marked_;
  std::vector<bool> used_;
  std::vector<std::size_t> missing_;
  std::size_t reduces_started_ = 0;
  std::optional<Request> weight_request_;
  bool step_open_ = false;
  int no_sync_depth_ = 0;
  std::int64_t local_samples_ = 1;
  std::int64_t step_samples_ = 1;
  std::int64_t total_weight_ = 1;
  detail::StepGuard step_guard_;
};

}  // namespace colt
