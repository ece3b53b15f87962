#pragma once
// ShardedDataParallel's memory: the tensors registered with it, the units they form
// (shard_layout.hpp), and per unit what the stage keeps, counted in one HeldMemory ledger. The
// model sees it only through each tensor's binder, called with views of what is held now (empty
// where nothing is). No collective runs here: gathers and reduce-scatters fill and empty these
// buffers (sharded_gathers.hpp, sharded_reduces.hpp).

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "colt/adapters/held_memory.hpp"
#include "colt/adapters/shard_layout.hpp"
#include "colt/adapters/sharded_options.hpp"
#include "colt/core/bfloat16.hpp"
#include "colt/core/request.hpp"

namespace colt::detail {

// A registered tensor: rank 0's values until the first step scatters them, and its binder.
struct ShardedTensor {
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

class ShardedUnits {
 public:
  explicit ShardedUnits(const ShardedDataParallelOptions& options) : options_(options) {}
  ShardedUnits(const ShardedUnits&) = delete;  // buffers are counted in memory_ by address
  ShardedUnits& operator=(const ShardedUnits&) = delete;

  std::vector<ShardedTensor>& tensors() { return tensors_; }
  const std::vector<ShardedTensor>& tensors() const { return tensors_; }
  HeldMemory& memory() { return memory_; }
  const HeldMemory& memory() const { return memory_; }

  // Once planned:
  const ShardLayout& layout() const { return layout_; }
  std::span<const std::size_t> sizes() const { return sizes_; }
  std::size_t count() const { return units_.size(); }
  const ShardUnit& unit(std::size_t u) const { return layout_.units[u]; }
  UnitState& state(std::size_t u) { return units_[u]; }
  // Where tensor t starts in its unit's full buffers.
  std::size_t offset_in_unit(std::size_t t) const {
    return layout_.tensor_offset[t] - unit(layout_.unit_of[t]).offset;
  }

  bool float_wire() const { return options_.wire == ShardWire::float32; }
  // Stages 1 and 2 keep the full parameters; with a float wire the master shard is their slice.
  bool master_is_view() const { return options_.stage < 3 && float_wire(); }

  // Cuts the registered tensors into units for this rank of `ranks` and allocates, zeroed, what
  // the stage keeps for good: stages 1-2 the full parameters (gathered from the start), stage 1
  // the full gradient, every stage its shards of master values, gradient and optimizer state.
  void lay_out(int ranks, int rank) {
    std::vector<bool> ends;
    for (const auto& t : tensors_) {
      sizes_.push_back(t.initial.size());
      ends.push_back(t.ends_unit);
    }
    layout_ = lay_out_shards(std::span<const std::size_t>(sizes_), ends,
                             std::max<std::size_t>(1, options_.bucket_cap_bytes / sizeof(float)),
                             ranks, rank);
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
  }

  // Unit u's float32 master shard: what the optimizer updates and the gathers send.
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

  // Hands unit u's tensors their views into its current storage (empty where none is held).
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

  // Stages 2-3: unit u's full gradient, zeroed, from its first backward hook on.
  void ensure_gradients(std::size_t u) {
    UnitState& s = units_[u];
    if (s.grads.held()) return;
    s.grads.allocate_zeroed(layout_.units[u].count);
    bind(u);
  }

 private:
  const ShardedDataParallelOptions& options_;
  std::vector<ShardedTensor> tensors_;
  std::vector<std::size_t> sizes_;
  ShardLayout layout_;
  HeldMemory memory_;
  std::vector<UnitState> units_;  // after memory_: destroyed (and waited for) first
};

}  // namespace colt::detail
