#pragma once
// The half and bfloat16 reduce loops, a vector at a time, for x86-64 CPUs that have the
// instructions, chosen at run time (the CPU is asked once): colt is header-only and built without
// -march, so the compiler's own vectorisation of the portable loops (host.hpp) stops at SSE2,
// where the 16-bit conversions cost more than the memory traffic they save. Two tiers:
//
// - AVX2 + F16C, 16 elements a step in two vectors of 8 floats, both types.
//   - half: F16C converts 8 values each way in one instruction (vcvtph2ps, vcvtps2ph with
//     round-to-nearest-even).
//   - bfloat16: widening interleaves zeros below the 16 bits; narrowing rounds the float's bit
//     pattern at bit 16 and selects the quiet NaN, as detail::narrow_bfloat16 does, in integer
//     lanes, then packs 16 results into one store.
// - AVX-512 (F and BW), 32 elements a step in two vectors of 16 floats, both types.
//   - half: AVX-512 F's vcvtph2ps and vcvtps2ph, F16C's conversions on 16 lanes.
//   - bfloat16: the same interleave, bit arithmetic and pack on 512-bit registers, the NaN
//     select a masked OR.
// - The ops are the built-in ones, as vector instructions that give what the scalar operators
//   give (min and max select exactly as `b < a ? b : a` and `a < b ? b : a`); other ops take the
//   portable loop. Results are bitwise those of the portable loops on every tier
//   (tests/reduce/test_host.cpp forces each tier this CPU has and compares every 16-bit pattern,
//   every op): rounding, infinities, subnormals, and a NaN input whose payload comes out quiet in
//   all (F16C quiets a signalling NaN on the way in, the portable narrowing on the way out). One
//   freedom IEEE 754 leaves, and the portable loop takes too: when two NaNs meet in a sum or
//   product, which payload survives. (AVX512_BF16's vcvtne2ps2bf16 is not used: it flushes
//   subnormals.)
// Elsewhere (other CPUs, other compilers) `wide_16bit_tier()` is `portable` and nothing here is
// compiled.

#include <concepts>
#include <cstddef>

#include "colt/core/ops.hpp"
#include "colt/core/types.hpp"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

namespace colt::detail {

// The op has a vector form here.
template <class Op>
inline constexpr bool wide_op =
    std::same_as<Op, sum> || std::same_as<Op, prod> || std::same_as<Op, min> ||
    std::same_as<Op, max> || std::same_as<Op, avg>;

// The loops a CPU runs, in order: each tier's CPUs have everything the tiers below need.
// A type without a loop at a tier takes the widest one below it.
enum class WideTier { portable, avx2, avx512 };

#if defined(__x86_64__) && defined(__GNUC__)

template <class Op, class T>
inline constexpr bool has_wide_16bit = NarrowFloat<T> && wide_op<Op>;

// The widest tier this CPU runs, asked once: AVX2 (with the operating system's support for its
// registers, which __builtin_cpu_supports checks) and F16C (CPUID leaf 1, ECX bit 29); then
// AVX-512 F and BW (their registers' support checked the same way).
inline WideTier wide_16bit_tier() noexcept {
  static const WideTier tier = [] {
    __builtin_cpu_init();
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
    if (!f16c || !__builtin_cpu_supports("avx2")) return WideTier::portable;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
      return WideTier::avx512;
    return WideTier::avx2;
  }();
  return tier;
}

namespace wide {

// GCC's vector extensions (which clang reads too), compiled for AVX2 by the target attribute
// below, and the F16C conversions and vpackusdw as builtins: no <immintrin.h>, which would cost
// every program that includes the reducers half a second of parsing.
using f32x8 = float __attribute__((vector_size(32)));
using u32x8 = std::uint32_t __attribute__((vector_size(32)));
using i32x8 = std::int32_t __attribute__((vector_size(32)));
using i16x8 = short __attribute__((vector_size(16)));
using i16x16 = short __attribute__((vector_size(32)));

// 16 elements as two vectors of 8 floats. Which element sits in which lane is each type's
// business: the same for every input and the output, so elementwise ops need not care.
struct Block {
  f32x8 lo, hi;
};

template <class V, class T>
[[gnu::target("avx2,f16c")]] inline V load_bits(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T, class V>
[[gnu::target("avx2,f16c")]] inline void store_bits(T* p, V v) {
  std::memcpy(static_cast<void*>(p), &v, sizeof v);  // trivially copyable 16-bit values
}

[[gnu::target("avx2,f16c")]] inline Block load(const half* p) {
  return {__builtin_ia32_vcvtph2ps256(load_bits<i16x8>(p)),
          __builtin_ia32_vcvtph2ps256(load_bits<i16x8>(p + 8))};
}
[[gnu::target("avx2,f16c")]] inline void store(half* p, Block v) {
  store_bits(p, __builtin_ia32_vcvtps2ph256(v.lo, 0));  // 0: round to nearest even
  store_bits(p + 8, __builtin_ia32_vcvtps2ph256(v.hi, 0));
}

// bfloat16 is the top half of a float: interleaving zeros below each value widens it exactly
// (vpunpck{l,h}wd, which work within 128-bit halves: elements 0-3 and 8-11 in `lo`, 4-7 and
// 12-15 in `hi`), and vpackusdw puts them back in order.
[[gnu::target("avx2,f16c")]] inline Block load(const bfloat16* p) {
  const i16x16 v = load_bits<i16x16>(p), zero{};
  return {reinterpret_cast<f32x8>(__builtin_shufflevector(zero, v, 0, 16, 1, 17, 2, 18, 3, 19, 8,
                                                          24, 9, 25, 10, 26, 11, 27)),
          reinterpret_cast<f32x8>(__builtin_shufflevector(zero, v, 4, 20, 5, 21, 6, 22, 7, 23, 12,
                                                          28, 13, 29, 14, 30, 15, 31))};
}
// detail::narrow_bfloat16 on 8 lanes: the bit pattern rounded at bit 16 (ties to even), or the
// quiet NaN keeping sign and top payload; each result in the low 16 bits of its lane.
[[gnu::target("avx2,f16c")]] inline i32x8 narrow_bfloat16(f32x8 v) {
  const u32x8 u = reinterpret_cast<u32x8>(v);
  const u32x8 rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const u32x8 quiet_nan = (u >> 16) | 0x40u;
  const i32x8 is_nan = reinterpret_cast<i32x8>(u & 0x7FFFFFFFu) > 0x7F800000;
  return reinterpret_cast<i32x8>(is_nan ? quiet_nan : rounded);
}
[[gnu::target("avx2,f16c")]] inline void store(bfloat16* p, Block v) {
  store_bits(p, __builtin_ia32_packusdw256(narrow_bfloat16(v.lo), narrow_bfloat16(v.hi)));
}

template <class Op>
[[gnu::target("avx2,f16c")]] inline f32x8 apply(f32x8 a, f32x8 b) {
  if constexpr (std::same_as<Op, sum> || std::same_as<Op, avg>)
    return a + b;
  else if constexpr (std::same_as<Op, prod>)
    return a * b;
  else if constexpr (std::same_as<Op, min>)
    return b < a ? b : a;
  else  // max
    return a < b ? b : a;
}
template <class Op>
[[gnu::target("avx2,f16c")]] inline Block apply(Block a, Block b) {
  return {apply<Op>(a.lo, b.lo), apply<Op>(a.hi, b.hi)};
}

// finish(op, v, ranks): avg divides (one correctly rounded float division, as the scalar form).
template <class Op>
[[gnu::target("avx2,f16c")]] inline Block finish(Block v, int ranks) {
  if constexpr (AveragingOp<Op>) {
    if (ranks > 0) return {v.lo / static_cast<float>(ranks), v.hi / static_cast<float>(ranks)};
  }
  return v;
}

}  // namespace wide

// The AVX-512 tier: 32 elements as two vectors of 16 floats, in 512-bit registers.
namespace wide512 {

using f32x16 = float __attribute__((vector_size(64)));
using u32x16 = std::uint32_t __attribute__((vector_size(64)));
using i32x16 = std::int32_t __attribute__((vector_size(64)));
using i16x32 = short __attribute__((vector_size(64)));
using i16x16 = short __attribute__((vector_size(32)));

struct Block {
  f32x16 lo, hi;
};

// F16C's conversions on 16 lanes, rounding to nearest even: the AVX2 tier's results (the
// every-pattern test holds both to the portable loop). 4: the current rounding direction, which
// widening never needs, as every half is exact in float.
[[gnu::target("avx512f,avx512bw")]] inline Block load(const half* p) {
  i16x16 lo, hi;
  std::memcpy(&lo, p, sizeof lo);
  std::memcpy(&hi, p + 16, sizeof hi);
  return {__builtin_ia32_vcvtph2ps512_mask(lo, f32x16{}, 0xFFFF, 4),
          __builtin_ia32_vcvtph2ps512_mask(hi, f32x16{}, 0xFFFF, 4)};
}
[[gnu::target("avx512f,avx512bw")]] inline void store(half* p, Block v) {
  // 0: round to nearest even.
  const i16x16 lo = __builtin_ia32_vcvtps2ph512_mask(v.lo, 0, i16x16{}, 0xFFFF);
  const i16x16 hi = __builtin_ia32_vcvtps2ph512_mask(v.hi, 0, i16x16{}, 0xFFFF);
  std::memcpy(static_cast<void*>(p), &lo, sizeof lo);
  std::memcpy(static_cast<void*>(p + 16), &hi, sizeof hi);
}

// The AVX2 tier's widening on 512-bit registers: vpunpck{l,h}wd with zero, within each 128-bit
// quarter (elements 0-3, 8-11, 16-19, 24-27 in `lo`, the rest in `hi`).
[[gnu::target("avx512f,avx512bw")]] inline Block load(const bfloat16* p) {
  i16x32 v;
  std::memcpy(&v, p, sizeof v);
  // Loaded once, into a register. Left to itself GCC folds the load into both interleaves, and
  // a 64-byte load that is not 64-byte aligned spans two cache lines, so each input cost four
  // line reads per 32 elements: the reducer alone on inputs in cache, 2 x 128-256 KiB, ran at
  // 0.57-0.62x float32's speed so and runs at 0.70-0.77x with one load (the AVX2 tier's half
  // loses with it: its vcvtph2ps reads memory once anyway).
  asm("" : "+v"(v));
  const i16x32 zero{};
  return {reinterpret_cast<f32x16>(__builtin_shufflevector(
              zero, v, 0, 32, 1, 33, 2, 34, 3, 35, 8, 40, 9, 41, 10, 42, 11, 43, 16, 48, 17, 49, 18,
              50, 19, 51, 24, 56, 25, 57, 26, 58, 27, 59)),
          reinterpret_cast<f32x16>(__builtin_shufflevector(
              zero, v, 4, 36, 5, 37, 6, 38, 7, 39, 12, 44, 13, 45, 14, 46, 15, 47, 20, 52, 21, 53,
              22, 54, 23, 55, 28, 60, 29, 61, 30, 62, 31, 63))};
}
// detail::narrow_bfloat16 on 16 lanes, each result in the high 16 bits of its lane: the bit
// pattern rounded at bit 16 (ties to even), or with the quiet bit set if NaN (a masked OR). The
// NaN test is on the bits, as the scalar one's, so no float flag of the caller's can change it.
[[gnu::target("avx512f,avx512bw")]] inline i16x32 narrow_bfloat16(f32x16 v) {
  const u32x16 u = reinterpret_cast<u32x16>(v);
  const u32x16 rounded = u + 0x7FFFu + ((u >> 16) & 1u);
  const u32x16 quiet_nan = u | 0x400000u;
  const i32x16 is_nan = reinterpret_cast<i32x16>(u & 0x7FFFFFFFu) > 0x7F800000;
  return reinterpret_cast<i16x32>(is_nan ? quiet_nan : rounded);
}
// The high halves of both, in the order load() took them apart: one vpermt2w.
[[gnu::target("avx512f,avx512bw")]] inline void store(bfloat16* p, Block v) {
  const i16x32 packed = __builtin_shufflevector(
      narrow_bfloat16(v.lo), narrow_bfloat16(v.hi), 1, 3, 5, 7, 33, 35, 37, 39, 9, 11, 13, 15, 41,
      43, 45, 47, 17, 19, 21, 23, 49, 51, 53, 55, 25, 27, 29, 31, 57, 59, 61, 63);
  std::memcpy(static_cast<void*>(p), &packed, sizeof packed);
}

template <class Op>
[[gnu::target("avx512f,avx512bw")]] inline f32x16 apply(f32x16 a, f32x16 b) {
  if constexpr (std::same_as<Op, sum> || std::same_as<Op, avg>)
    return a + b;
  else if constexpr (std::same_as<Op, prod>)
    return a * b;
  else if constexpr (std::same_as<Op, min>)
    return b < a ? b : a;
  else  // max
    return a < b ? b : a;
}
template <class Op>
[[gnu::target("avx512f,avx512bw")]] inline Block apply(Block a, Block b) {
  return {apply<Op>(a.lo, b.lo), apply<Op>(a.hi, b.hi)};
}

template <class Op>
[[gnu::target("avx512f,avx512bw")]] inline Block finish(Block v, int ranks) {
  if constexpr (AveragingOp<Op>) {
    if (ranks > 0) return {v.lo / static_cast<float>(ranks), v.hi / static_cast<float>(ranks)};
  }
  return v;
}

}  // namespace wide512

// reduce_pair's body, 16 at a time; returns how many elements it did (a multiple of 16), the
// rest is the caller's.
template <class Op, NarrowFloat T>
[[gnu::target("avx2,f16c")]] std::size_t reduce_pair_avx2(T* out, const T* a, const T* b,
                                                          std::size_t count, int ranks) {
  std::size_t i = 0;
  for (; i + 16 <= count; i += 16)
    wide::store(out + i,
                wide::finish<Op>(wide::apply<Op>(wide::load(a + i), wide::load(b + i)), ranks));
  return i;
}
// The same, 32 at a time (a multiple of 32).
template <class Op, NarrowFloat T>
[[gnu::target("avx512f,avx512bw")]] std::size_t reduce_pair_avx512(T* out, const T* a, const T* b,
                                                                   std::size_t count, int ranks) {
  std::size_t i = 0;
  for (; i + 32 <= count; i += 32)
    wide512::store(
        out + i,
        wide512::finish<Op>(wide512::apply<Op>(wide512::load(a + i), wide512::load(b + i)), ranks));
  return i;
}

// reduce_many_at's block: out[0, m) = finish(in(0) op ... op in(k-1)), 16 at a time, in input
// order; returns how many it did (a multiple of 16).
template <class Op, NarrowFloat T, class InputAt>
[[gnu::target("avx2,f16c")]] std::size_t reduce_many_avx2(T* out, std::size_t k, InputAt& input,
                                                          std::size_t base, std::size_t m,
                                                          int ranks) {
  std::size_t i = 0;
  for (; i + 16 <= m; i += 16) {
    wide::Block acc = wide::load(input(0) + base + i);
    for (std::size_t j = 1; j < k; ++j) acc = wide::apply<Op>(acc, wide::load(input(j) + base + i));
    wide::store(out + base + i, wide::finish<Op>(acc, ranks));
  }
  return i;
}
// The same, 32 at a time (a multiple of 32).
template <class Op, NarrowFloat T, class InputAt>
[[gnu::target("avx512f,avx512bw")]] std::size_t reduce_many_avx512(T* out, std::size_t k,
                                                                   InputAt& input, std::size_t base,
                                                                   std::size_t m, int ranks) {
  std::size_t i = 0;
  for (; i + 32 <= m; i += 32) {
    wide512::Block acc = wide512::load(input(0) + base + i);
    for (std::size_t j = 1; j < k; ++j)
      acc = wide512::apply<Op>(acc, wide512::load(input(j) + base + i));
    wide512::store(out + base + i, wide512::finish<Op>(acc, ranks));
  }
  return i;
}

// The widest loop T has at `tier` (at most wide_16bit_tier()); how many elements it did.
template <class Op, NarrowFloat T>
std::size_t reduce_pair_wide(WideTier tier, T* out, const T* a, const T* b, std::size_t count,
                             int ranks) {
  if (tier == WideTier::avx512) return reduce_pair_avx512<Op>(out, a, b, count, ranks);
  return tier == WideTier::portable ? 0 : reduce_pair_avx2<Op>(out, a, b, count, ranks);
}
template <class Op, NarrowFloat T, class InputAt>
std::size_t reduce_many_wide(WideTier tier, T* out, std::size_t k, InputAt& input, std::size_t base,
                             std::size_t m, int ranks) {
  if (tier == WideTier::avx512) return reduce_many_avx512<Op>(out, k, input, base, m, ranks);
  return tier == WideTier::portable ? 0 : reduce_many_avx2<Op>(out, k, input, base, m, ranks);
}

#else

template <class Op, class T>
inline constexpr bool has_wide_16bit = false;
inline WideTier wide_16bit_tier() noexcept { return WideTier::portable; }
template <class Op, NarrowFloat T>
std::size_t reduce_pair_wide(WideTier, T*, const T*, const T*, std::size_t, int) {
  return 0;
}
template <class Op, NarrowFloat T, class InputAt>
std::size_t reduce_many_wide(WideTier, T*, std::size_t, InputAt&, std::size_t, std::size_t, int) {
  return 0;
}

#endif

}  // namespace colt::detail
