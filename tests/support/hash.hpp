#pragma once
// A hash of a buffer's bytes (FNV-1a, 64-bit), for comparing results across ranks by sending
// 8 bytes instead of the buffer.

#include <cstddef>
#include <cstdint>
#include <span>

namespace colt::test {

inline std::uint64_t fnv1a(std::span<const std::byte> bytes) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::byte b : bytes) h = (h ^ static_cast<std::uint64_t>(b)) * 1099511628211ull;
  return h;
}

}  // namespace colt::test
