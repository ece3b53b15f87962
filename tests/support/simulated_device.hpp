#pragma once
// SimulatedDevice: a device memory space (reduce/memory.hpp) made of host memory, so the device
// code path of every collective (views only; the space's copies and fused reduction; staging for
// transports without views) runs and is checked on machines without a GPU.
//
// Its "device pointers" are host pointers moved up by 2^62, outside any address the host can
// dereference: if colt's host code ever read or wrote a device buffer itself (a transport's copy,
// a checksum, a std::copy in an algorithm) instead of going through the space, the test would
// crash instead of passing. Only the space's own copy and reduce move them back.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "colt/core/memory.hpp"
#include "colt/reduce/host.hpp"
#include "colt/reduce/memory.hpp"

namespace colt::test {

struct SimulatedDevice {
  static constexpr bool device = true;
  // Small, so the pipelined staging of all_reduce runs many chunks in the tests.
  static constexpr std::size_t staging_chunk_bytes = 4096;
  static constexpr std::uintptr_t shift = std::uintptr_t{1} << 62;

  // What this rank's thread did through the space, to tell which path a call took.
  struct Counters {
    long copies = 0;
    long reductions = 0;
    long reduced_inputs = 0;  // inputs of the last reduction
    long stagings = 0;
  };
  static Counters& counters() {
    thread_local Counters c;
    return c;
  }

  explicit SimulatedDevice(DeviceStream /*stream*/) {}

  template <class T>
  static T* to_device(T* host) {
    return reinterpret_cast<T*>(reinterpret_cast<std::uintptr_t>(host) + shift);
  }
  template <class T>
  static device_span<T, SimulatedDevice> on_device(std::vector<T>& v) {
    return {to_device(v.data()), v.size()};
  }
  template <class T>
  static device_span<const T, SimulatedDevice> on_device(const std::vector<T>& v) {
    return {to_device(v.data()), v.size()};
  }
  // Host pointers (staging buffers) pass unchanged; device pointers move back.
  template <class T>
  static T* to_host(T* p) {
    const auto bits = reinterpret_cast<std::uintptr_t>(p);
    return bits >= shift ? reinterpret_cast<T*>(bits - shift) : p;
  }

  template <class T>
  void copy(T* dst, const T* src, std::size_t count) {
    ++counters().copies;
    if (count > 0 && dst != src) std::copy_n(to_host(src), count, to_host(dst));
  }
  template <class Op, class T>
  void reduce(Op op, T* out, std::span<const T* const> inputs, std::size_t count, int ranks) {
    ++counters().reductions;
    counters().reduced_inputs = static_cast<long>(inputs.size());
    std::vector<const T*> host(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) host[i] = to_host(inputs[i]);
    reduce_many(op, to_host(out), std::span<const T* const>(host), count, ranks);
  }
  void wait() {}

  // Grows only, so a buffer keeps its contents while a call uses it at one size.
  template <class T>
  std::span<T> staging(std::size_t count, int buffer) {
    ++counters().stagings;
    thread_local std::vector<std::byte> buffers[2];
    auto& bytes = buffers[buffer];
    if (bytes.size() < count * sizeof(T)) bytes.resize(count * sizeof(T));
    return {reinterpret_cast<T*>(bytes.data()), count};
  }
};

static_assert(DeviceSpace<SimulatedDevice>);

}  // namespace colt::test
