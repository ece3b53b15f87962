#pragma once
// Pack<T>: 16 bytes of elements, the widest load one GPU thread issues (one 128-bit LD.E.128).
// A pack is read only from addresses aligned to 16 bytes; the reduce body decides which
// elements qualify (see reduce_body.hpp) and reads the rest one element at a time.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "colt/core/config.hpp"

namespace colt::cuda {

inline constexpr std::size_t pack_bytes = 16;

template <class T>
struct alignas(pack_bytes) Pack {
  static constexpr std::size_t size = pack_bytes / sizeof(T);
  T element[size];
};

// `from` must be 16-byte aligned. Device code loads the pack in one instruction; host code
// (the kernel body's host test) copies bytes, which is what the instruction does.
template <class T>
COLT_HOST_DEVICE Pack<T> load_pack(const T* from) {
#if defined(__CUDA_ARCH__)
  return *reinterpret_cast<const Pack<T>*>(from);
#else
  Pack<T> pack;
  std::memcpy(static_cast<void*>(&pack), static_cast<const void*>(from), sizeof pack);
  return pack;
#endif
}

template <class T>
COLT_HOST_DEVICE void store_pack(T* to, const Pack<T>& pack) {
#if defined(__CUDA_ARCH__)
  *reinterpret_cast<Pack<T>*>(to) = pack;
#else
  std::memcpy(static_cast<void*>(to), static_cast<const void*>(&pack), sizeof pack);
#endif
}

// Bytes past the last 16-byte boundary at or below `p`.
COLT_HOST_DEVICE std::size_t misalignment(const void* p) {
  return static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(p) % pack_bytes);
}

}  // namespace colt::cuda
