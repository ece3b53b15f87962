#pragma once
// FNV-1a, 64-bit: the one hash colt uses where ranks compare something by sending 8 bytes instead
// of the thing itself (call descriptors' op names and counts, DataParallel's tensor list, the
// tests' cross-rank result checks). Fast and well spread, not cryptographic: it finds mistakes,
// not adversaries.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace colt::detail {

inline constexpr std::uint64_t fnv1a_basis = 14695981039346656037ull;
inline constexpr std::uint64_t fnv1a_prime = 1099511628211ull;

constexpr std::uint64_t fnv1a(std::span<const std::byte> bytes, std::uint64_t h = fnv1a_basis) {
  for (std::byte b : bytes) h = (h ^ static_cast<std::uint64_t>(b)) * fnv1a_prime;
  return h;
}

constexpr std::uint64_t fnv1a(std::string_view text, std::uint64_t h = fnv1a_basis) {
  for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * fnv1a_prime;
  return h;
}

// The 8 bytes of `value`, little-endian whatever the host's order, so every rank hashes alike.
constexpr std::uint64_t fnv1a_u64(std::uint64_t value, std::uint64_t h = fnv1a_basis) {
  for (int i = 0; i < 8; ++i) h = (h ^ ((value >> (8 * i)) & 0xFF)) * fnv1a_prime;
  return h;
}

}  // namespace colt::detail
