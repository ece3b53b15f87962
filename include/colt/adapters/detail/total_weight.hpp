#pragma once
// The divisor of a data-parallel average: the step's total weight, which is the rank count or,
// with weighted averaging, the sum of the ranks' sample counts for the step (one 8-byte
// all-reduce per step), so that the result is the exact mean over the global batch even when
// ranks' batches differ. DataParallel learns it with its first bucket, ShardedDataParallel when
// its step begins (sharded_reduces.hpp says why); each decides whether to start it or to wait
// for it (a 16-bit wire scales by it before the sum, so it must have arrived).

#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "colt/adapters/detail/step_guard.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/core/ops.hpp"
#include "colt/core/request.hpp"

namespace colt::detail {

class TotalWeight {
 public:
  // Learns the total of a step in which this rank had `samples`: now, or with `start` started
  // (wait() before reading it). Guarded, started or not, as every collective of a step is: a
  // failure leaves the peers out of step as a failed bucket does, so it breaks the adapter too.
  template <class Comm>
  void learn(Comm& comm, StepGuard& guard, bool weighted, std::int64_t samples, bool start) {
    total_ = weighted ? samples : comm.size();
    if (!weighted) return;
    const std::span<std::int64_t> total(&total_, 1);
    if (start)
      guard.guarded([&] { request_.emplace(iall_reduce(comm, total, sum{})); });
    else
      guard.guarded([&] { all_reduce(comm, total, sum{}); });
  }

  // Waits for a started learn, if one is in flight; the request is gone afterwards, whether it
  // failed or not.
  void wait() {
    if (request_) std::exchange(request_, std::nullopt)->wait();
  }

  // 1 / total, or 0 where no rank had a sample: every contribution is then zero and stays so.
  double inverse() const { return total_ > 0 ? 1.0 / static_cast<double>(total_) : 0.0; }

 private:
  std::int64_t total_ = 0;
  std::optional<Request> request_;  // declared after what it writes: waited for first
};

}  // namespace colt::detail
