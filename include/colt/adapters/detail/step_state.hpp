#pragma once
// Where a data-parallel step stands, kept alike by DataParallel and ShardedDataParallel: which
// tensors backward marked ready, which were used under no_sync() since the last synchronize
// (both contribute; the others contribute zeros), how many tensors of each group (a bucket, a
// unit) are still unmarked, whether the step has begun, and the sample count it is weighted by.
// One thread drives an adapter, as a communicator.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "colt/core/error.hpp"

namespace colt::detail {

// The error of a call a data-parallel adapter rejects, raised before any traffic.
[[noreturn]] inline void reject(Operation adapter, int rank, const std::string& cause) {
  throw Error(ErrorKind::invalid_argument, adapter, Error::Rank{rank}, cause);
}

class StepState {
 public:
  // While one lives, gradients accumulate locally: marks only record which tensors were used,
  // and the adapter's synchronize() leaves the gradients as they are.
  class [[nodiscard]] NoSync {
   public:
    explicit NoSync(StepState& state) : state_(&state) { ++state.no_sync_depth_; }
    NoSync(NoSync&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    NoSync& operator=(NoSync&&) = delete;
    ~NoSync() {
      if (state_) --state_->no_sync_depth_;
    }

   private:
    StepState* state_;
  };

  // `adapter` names the adapter in errors; `first_call` is what begins its step ("mark_ready").
  StepState(Operation adapter, const char* first_call, int rank)
      : adapter_(adapter), first_call_(first_call), rank_(rank) {}

  [[noreturn]] void fail(const std::string& cause) const { reject(adapter_, rank_, cause); }

  // Once, before the first step: group g holds group_sizes[g] of the `tensors` tensors.
  void lay_out(std::size_t tensors, std::vector<std::size_t> group_sizes) {
    marked_.assign(tensors, false);
    used_.assign(tensors, false);
    group_sizes_ = std::move(group_sizes);
    reset();
  }
  // The step ended: nothing marked or used, every group missing all of its tensors.
  void reset() {
    std::fill(marked_.begin(), marked_.end(), false);
    std::fill(used_.begin(), used_.end(), false);
    missing_ = group_sizes_;
    open_ = false;
  }

  bool open() const { return open_; }
  bool accumulating() const { return no_sync_depth_ > 0; }
  // The step's first mark (or hook): its sample count is the one set until now.
  void begin() {
    if (open_) return;
    open_ = true;
    step_samples_ = local_samples_;
  }

  NoSync no_sync() {
    if (open_)
      fail("no_sync() in the middle of a step (after its first " + std::string(first_call_) + ")");
    return NoSync(*this);
  }

  void set_local_samples(std::int64_t samples) {
    if (samples < 0) fail("set_local_samples: negative count " + std::to_string(samples));
    if (open_) fail("set_local_samples after the step's first " + std::string(first_call_));
    local_samples_ = samples;
  }
  std::int64_t samples() const { return step_samples_; }
  // This rank's weight in the step's sum: its sample count, weighted, else 1.
  double weight(bool weighted) const { return static_cast<double>(weighted ? step_samples_ : 1); }

  // Under no_sync() a mark only records that tensor i was used; returns whether it did that.
  bool record_use(std::size_t i) {
    if (!accumulating()) return false;
    used_[i] = true;
    return true;
  }
  // Tensor i, of group g, is final for this step (`name` for the error if it was already).
  void mark(std::size_t i, std::size_t g, const std::string& name) {
    if (marked_[i]) fail("tensor '" + name + "' marked ready twice in one step");
    marked_[i] = true;
    begin();
    --missing_[g];
  }
  // Whether tensor i's gradient counts in this step's sum (else it contributes zeros).
  bool contributes(std::size_t i) const { return marked_[i] || used_[i]; }
  std::size_t missing(std::size_t g) const { return missing_[g]; }

 private:
  Operation adapter_;
  const char* first_call_;
  int rank_;
  std::vector<bool> marked_;  // marked ready in this step
  std::vector<bool> used_;    // marked under no_sync() since the last synchronize
  std::vector<std::size_t> group_sizes_;
  std::vector<std::size_t> missing_;  // per group: tensors not yet marked
  bool open_ = false;
  int no_sync_depth_ = 0;
  std::int64_t local_samples_ = 1;
  std::int64_t step_samples_ = 1;
};

}  // namespace colt::detail
