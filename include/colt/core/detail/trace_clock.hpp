#pragma once
// The flight recorder's clocks: a call reads the CPU's time-stamp counter (cheap), a dump turns
// the ticks into system-clock nanoseconds, the clock ranks on different machines share.

#include <chrono>
#include <cstdint>

namespace colt::detail {

// Nanoseconds on the system clock: the one clock that ranks in different processes (and, up to
// their clock offset, machines) share, so the analyser can compare when ranks entered a call.
inline std::int64_t trace_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What a call records instead: the CPU's time-stamp counter where there is one. Reading it costs
// about 10 ns against 25 ns for the system clock (on this project's VM, kvm-clock), and a call
// reads two: the system clock's 50 ns were 7% of a 2-rank 8-byte all_reduce. A dump turns ticks
// into system-clock nanoseconds (TraceClock).
inline std::uint64_t trace_ticks() noexcept {
#if (defined(__x86_64__) || defined(__i386__)) && !defined(__CUDA_ARCH__)
  return __builtin_ia32_rdtsc();
#else
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

// Ticks to system-clock nanoseconds: the two clocks read together when the recorder was made
// and again when a dump is written give the tick rate (an invariant counter runs at one rate on
// every core).
struct TraceClock {
  std::uint64_t origin_ticks = trace_ticks();
  std::int64_t origin_ns = trace_now_ns();

  // A converter for the ticks recorded so far.
  struct Scale {
    std::uint64_t origin_ticks;
    std::int64_t origin_ns;
    double ns_per_tick;
    std::int64_t operator()(std::uint64_t ticks) const {
      if (ticks == 0) return 0;
      const double since = static_cast<double>(static_cast<std::int64_t>(ticks - origin_ticks));
      return origin_ns + static_cast<std::int64_t>(since * ns_per_tick);
    }
  };
  Scale now() const {
    const std::uint64_t ticks = trace_ticks();
    const std::int64_t ns = trace_now_ns();
    const double elapsed = static_cast<double>(ticks - origin_ticks);
    return {origin_ticks, origin_ns,
            elapsed > 0 ? static_cast<double>(ns - origin_ns) / elapsed : 1.0};
  }
};

}  // namespace colt::detail
