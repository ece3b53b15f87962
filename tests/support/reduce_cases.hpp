#pragma once
// The cases the fused reduce kernel is checked on, shared by the host test of its body
// (tests/reduce/test_reduce_body.cpp) and the GPU test (tests/gpu/test_kernels.cu): inputs at
// element offsets that share the output's alignment (16-byte packs) or not (one by one), the
// output poisoned beforehand and guarded on both sides, the result compared bit for bit with
// colt::reduce_many on the host.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "colt/reduce/host.hpp"
#include "random.hpp"

namespace colt::test {

// A buffer `guard` elements wider than the data on each side; data starts `offset` elements in.
template <class T>
struct Guarded {
  static constexpr std::size_t guard = 16;
  std::vector<T> storage;
  std::size_t offset;
  Guarded(std::vector<T> values, std::size_t offset, std::uint64_t seed) : offset(offset) {
    std::mt19937_64 rng(seed);
    storage = random_buffer<T>(rng, values.size() + 2 * guard + offset);
    std::copy(values.begin(), values.end(),
              storage.begin() + static_cast<std::ptrdiff_t>(guard + offset));
  }
  T* data() { return storage.data() + guard + offset; }
  const T* data() const { return storage.data() + guard + offset; }
};

struct ReduceCase {
  int inputs;
  std::size_t count;
  std::size_t out_offset;  // elements past a 16-byte boundary (the storage starts on one)
  bool inputs_aligned_like_out;
};

inline std::string describe(const ReduceCase& c) {
  return std::to_string(c.inputs) + " inputs, " + std::to_string(c.count) + " elements, output +" +
         std::to_string(c.out_offset) +
         (c.inputs_aligned_like_out ? ", inputs alike" : ", inputs misaligned");
}

// The small cases: every k up to 16 at counts 0, 1, 3, 17, 1000 and 4 offsets.
inline std::vector<ReduceCase> small_reduce_cases() {
  std::vector<ReduceCase> cases;
  for (int k : {1, 2, 3, 5, 8, 16})
    for (std::size_t count : {0, 1, 3, 17, 1000})
      for (std::size_t offset : {0, 1, 3})
        for (bool alike : {true, false}) cases.push_back({k, count, offset, alike});
  return cases;
}

// The expected output storage: the poisoned storage with the data range replaced by the host fold.
template <class T, class Op>
std::vector<T> expected_storage(const Guarded<T>& out, const std::vector<Guarded<T>>& inputs,
                                std::size_t count, int ranks) {
  std::vector<T> expected = out.storage;
  std::vector<const T*> pointers;
  for (const auto& in : inputs) pointers.push_back(in.data());
  if (count)
    reduce_many(Op{}, expected.data() + Guarded<T>::guard + out.offset,
                std::span<const T* const>(pointers), count, ranks);
  return expected;
}

template <class T, class Op>
std::vector<Guarded<T>> make_inputs(const ReduceCase& c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Guarded<T>> inputs;
  for (int j = 0; j < c.inputs; ++j) {
    const std::size_t offset = c.inputs_aligned_like_out
                                   ? c.out_offset
                                   : (c.out_offset + 1 + static_cast<std::size_t>(j)) % 8;
    inputs.emplace_back(random_buffer<T, Op>(rng, c.count), offset,
                        seed + 100 + static_cast<std::uint64_t>(j));
  }
  return inputs;
}

}  // namespace colt::test
