#pragma once
// The fuzzers' view of libFuzzer's bytes: integers taken from the front, zeros once they run out
// (so every input, however short, is a complete case), and a check that ends the run as a crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace colt::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  template <class T>
    requires std::is_integral_v<T>
  T take() {
    T value{};
    const std::size_t n = sizeof(T) < size_ - used_ ? sizeof(T) : size_ - used_;
    if (n != 0) std::memcpy(&value, data_ + used_, n);
    used_ += n;
    return value;
  }

  std::size_t left() const { return size_ - used_; }
  const std::uint8_t* rest() const { return data_ + used_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t used_ = 0;
};

// An invariant of the decoder broke: a finding, reported as a crash (libFuzzer prints the stack
// and keeps the input).
inline void expect(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

}  // namespace colt::fuzz
