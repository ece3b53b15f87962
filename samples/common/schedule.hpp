#pragma once
// What every sample trainer does around its step: walk the training set in a seeded order,
// epoch after epoch, one global batch at a time (the same batches on every rank), and decay the
// learning rate on a cosine to 5% of its peak.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>
#include <vector>

#include "colt/core/partition.hpp"

namespace samples {

class BatchOrder {
 public:
  BatchOrder(std::size_t examples, std::uint64_t seed)
      : n_(examples), seed_(seed), order_(colt::partition::shuffled(examples, seed + 1)) {}

  // The indices of the next global batch (at most `batch`: an epoch's last batch may be short).
  std::span<const std::size_t> next(std::size_t batch) {
    if (position_ == n_) {
      position_ = 0;
      ++epoch_;
      order_ = colt::partition::shuffled(n_, seed_ + 1 + static_cast<std::uint64_t>(epoch_));
    }
    const std::size_t count = std::min(batch, n_ - position_);
    std::span<const std::size_t> out(order_.data() + position_, count);
    position_ += count;
    return out;
  }
  // Epochs completed (counted when an epoch's last batch has been handed out).
  int epoch() const { return position_ == n_ ? epoch_ + 1 : epoch_; }

 private:
  std::size_t n_;
  std::uint64_t seed_;
  std::vector<std::size_t> order_;
  std::size_t position_ = 0;
  int epoch_ = 0;
};

inline double cosine_learning_rate(double peak, int step, int steps) {
  const double progress = static_cast<double>(step) / static_cast<double>(steps);
  return peak * (0.05 + 0.95 * 0.5 * (1 + std::cos(std::numbers::pi * progress)));
}

}  // namespace samples
