#pragma once
// Held memory: what an adapter holds, by kind, now and at its peak, counted at each allocation
// and release rather than computed from a formula, so a report shows what a run really held
// (a prefetched bucket, a gradient bucket still being reduced, a 16-bit staging copy).
//
// HeldBuffer<T> is a buffer that reports its bytes to a HeldMemory ledger while it holds them;
// release() gives the memory back to the allocator (not just size 0: the point is the bytes).

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <span>

namespace colt {

enum class Holding : unsigned char {
  parameters,       // full (gathered) parameters and the parameter shards
  gradients,        // full gradient buckets and the gradient shards
  optimizer_state,  // the optimizer's per-parameter state (Adam's two moments)
  buffers,          // communication staging: 16-bit copies on the wire
};
inline constexpr std::size_t holding_kinds = 4;

inline const char* holding_name(Holding h) {
  switch (h) {
    case Holding::parameters: return "parameters";
    case Holding::gradients: return "gradients";
    case Holding::optimizer_state: return "optimizer state";
    case Holding::buffers: return "buffers";
  }
  return "?";
}

class HeldMemory {
 public:
  void add(Holding kind, std::size_t bytes) {
    now_[index(kind)] += bytes;
    peak_[index(kind)] = std::max(peak_[index(kind)], now_[index(kind)]);
    total_ += bytes;
    peak_total_ = std::max(peak_total_, total_);
  }
  void remove(Holding kind, std::size_t bytes) {
    now_[index(kind)] -= bytes;
    total_ -= bytes;
  }

  std::size_t now(Holding kind) const { return now_[index(kind)]; }
  // The most this kind held at once; the kinds' peaks may fall at different times.
  std::size_t peak(Holding kind) const { return peak_[index(kind)]; }
  std::size_t now_total() const { return total_; }
  // The most held at once over all kinds together.
  std::size_t peak_total() const { return peak_total_; }
  // Starts the peaks again from what is held now (to measure steady state after set-up).
  void reset_peaks() {
    peak_ = now_;
    peak_total_ = total_;
  }

 private:
  static std::size_t index(Holding kind) { return static_cast<std::size_t>(kind); }
  std::array<std::size_t, holding_kinds> now_{};
  std::array<std::size_t, holding_kinds> peak_{};
  std::size_t total_ = 0;
  std::size_t peak_total_ = 0;
};

template <class T>
class HeldBuffer {
 public:
  HeldBuffer() = default;
  HeldBuffer(HeldMemory& ledger, Holding kind) : ledger_(&ledger), kind_(kind) {}
  HeldBuffer(const HeldBuffer&) = delete;
  HeldBuffer& operator=(const HeldBuffer&) = delete;
  HeldBuffer(HeldBuffer&& other) noexcept { *this = std::move(other); }
  HeldBuffer& operator=(HeldBuffer&& other) noexcept {
    if (this != &other) {
      release();
      ledger_ = other.ledger_;
      kind_ = other.kind_;
      data_ = std::move(other.data_);
      size_ = other.size_;
      other.size_ = 0;
    }
    return *this;
  }
  ~HeldBuffer() { release(); }

  // Holds n elements, zeros, replacing what was held.
  void allocate_zeroed(std::size_t n) { hold(n, std::make_unique<T[]>(n)); }
  // Holds n elements left unwritten, for a buffer its next user fills in full (a gather's
  // output): zeroing it first would be one more pass over memory on every step.
  void allocate_for_overwrite(std::size_t n) { hold(n, std::make_unique_for_overwrite<T[]>(n)); }
  void release() {
    if (!data_) return;
    if (ledger_) ledger_->remove(kind_, size_ * sizeof(T));
    data_.reset();
    size_ = 0;
  }

  bool held() const { return data_ != nullptr; }
  std::size_t size() const { return size_; }
  std::span<T> span() { return {data_.get(), size_}; }
  std::span<const T> span() const { return {data_.get(), size_}; }

 private:
  void hold(std::size_t n, std::unique_ptr<T[]> data) {
    release();
    if (n == 0) return;
    data_ = std::move(data);
    size_ = n;
    if (ledger_) ledger_->add(kind_, n * sizeof(T));
  }

  HeldMemory* ledger_ = nullptr;
  Holding kind_ = Holding::buffers;
  std::unique_ptr<T[]> data_;
  std::size_t size_ = 0;
};

}  // namespace colt
