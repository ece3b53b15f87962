#pragma once
// Scratch memory owned by a communicator and reused across calls: it grows to the largest
// request seen and is never shrunk, so steady-state collectives allocate nothing (Gloo allocates
// per ring call; colt does not).

#include <cstddef>
#include <memory>
#include <new>
#include <span>

namespace colt {

class Workspace {
 public:
  // Memory for `count` objects of T, aligned for any element type; contents are unspecified and
  // valid until the next call to `get`.
  template <class T>
  std::span<T> get(std::size_t count) {
    reserve(count * sizeof(T));
    return {reinterpret_cast<T*>(storage_.get()), count};
  }

  void reserve(std::size_t bytes) {
    if (bytes <= capacity_) return;
    std::size_t grown = capacity_ + capacity_ / 2;
    std::size_t size = bytes > grown ? bytes : grown;
    storage_.reset(static_cast<std::byte*>(::operator new(size, alignment)));
    capacity_ = size;
  }

  std::size_t capacity() const noexcept { return capacity_; }
  std::byte* data() noexcept { return storage_.get(); }

 private:
  static constexpr std::align_val_t alignment{64};
  struct Free {
    void operator()(std::byte* p) const noexcept { ::operator delete(p, alignment); }
  };
  std::unique_ptr<std::byte[], Free> storage_;
  std::size_t capacity_ = 0;
};

}  // namespace colt
