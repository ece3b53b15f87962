#pragma once
// How a collective on device buffers runs (collectives/device.hpp has the front doors): through
// views, each rank reading its peers' device buffers, or staged through the memory
// space's pinned host buffers around the host collective; and what a device call takes after
// its operands (an algorithm, a stream, both, in either order, or neither).
//
// This header needs no CUDA: it is written against the memory-space interface (reduce/memory.hpp).

#include <algorithm>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/broadcast.hpp"
#include "colt/collectives/gather.hpp"
#include "colt/collectives/reduce.hpp"
#include "colt/collectives/reduce_scatter.hpp"
#include "colt/collectives/scatter.hpp"
#include "colt/core/algorithm_name.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/memory.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/reduce/memory.hpp"

namespace colt {

// What may follow a device call's operands: the algorithm and the stream, each at most once.
template <class A>
concept DeviceCallArg = std::same_as<A, Algorithm> || std::convertible_to<A, DeviceStream>;

namespace detail {

struct DeviceArgs {
  Algorithm algorithm = Algorithm::automatic;
  DeviceStream stream;
};

// At most one algorithm and one stream (a requirement of every device front door).
template <class... Args>
concept device_args_once = (0 + ... + std::same_as<Args, Algorithm>) <= 1 &&
                           (0 + ... + !std::same_as<Args, Algorithm>) <= 1;

template <DeviceCallArg... Args>
  requires device_args_once<Args...>
DeviceArgs device_args(Args... args) {
  DeviceArgs a;
  [[maybe_unused]] auto take = [&a]<class A>(A arg) {
    if constexpr (std::same_as<A, Algorithm>)
      a.algorithm = arg;
    else
      a.stream = DeviceStream(arg);
  };
  (take(args), ...);
  return a;
}

template <class S>
concept CompleteType = requires { sizeof(S); };

// The space a call works in, made from the caller's stream.
template <class Space>
Space make_space(DeviceStream stream) {
  static_assert(CompleteType<Space>,
                "collectives on colt::device_span need the definition of its memory space: for "
                "CUDA, #include <colt/cuda/collectives.cuh> in a .cu file compiled by nvcc");
  static_assert(DeviceSpace<Space>, "a device_span's Space must model colt::DeviceSpace");
  return Space(stream);
}

// A pointer-and-count span over device memory, for the algorithms: in a device call it is only
// ever handed to the space's copy and reduce, never read by the host.
template <class T, class Space>
std::span<T> as_span(device_span<T, Space> s) {
  return {s.data(), s.size()};
}

// Runs fn(comm) and returns true when this call can run through views (peers read each other's
// device buffers: a transport with views, and no checksum, which would read messages on the
// host); fn is instantiated only for such transports.
template <class X, class Fn>
bool ran_through_views(Communicator<X>& comm, Fn&& fn) {
  if constexpr (ViewTransport<detail::link_t<X>>) {
    if (!comm.checksum()) {
      fn(comm);
      return true;
    }
  }
  return false;
}

// Host copies of the device buffers: `in` (its first in_count elements copied from the device)
// in staging buffer 0, `out` in buffer 1. `host_call(host_in, host_out)` runs the host collective,
// then the first out_count elements of host_out are copied back to `out`.
template <class Space, class T, class Fn>
void staged(Space& space, std::span<const T> in, std::size_t in_count, std::span<T> out,
            std::size_t out_count, Fn&& host_call) {
  std::span<T> host_in = space.template staging<T>(in.size(), 0);
  std::span<T> host_out = space.template staging<T>(out.size(), 1);
  space.copy(host_in.data(), in.data(), in_count);
  space.wait();
  host_call(std::span<const T>(host_in), host_out);
  space.copy(out.data(), host_out.data(), out_count);
  space.wait();
}

// The same for a collective that works in place: one staging buffer (buffer 1) for `data`, its
// first in_count elements copied in and first out_count copied back around host_call(host).
template <class Space, class T, class Fn>
void staged_in_place(Space& space, std::span<T> data, std::size_t in_count, std::size_t out_count,
                     Fn&& host_call) {
  std::span<T> host = space.template staging<T>(data.size(), 1);
  space.copy(host.data(), data.data(), in_count);
  space.wait();
  host_call(host);
  space.copy(data.data(), host.data(), out_count);
  space.wait();
}

// all_reduce through host staging, pipelined in chunks (see the header comment). Buffers 0 and 1
// alternate; one stream orders each chunk's copy back before the copy that reuses its buffer.
template <class X, class Space, class T, class Op>
void staged_all_reduce(Communicator<X>& comm, Space& space, std::span<const T> in, std::span<T> out,
                       Op op, Algorithm algorithm) {
  const std::size_t chunk = std::max<std::size_t>(1, Space::staging_chunk_bytes / sizeof(T));
  if (in.size() != out.size() ||
      in.size() <= chunk) {  // one chunk (or an error the host call names)
    return staged(space, in, in.size(), out, std::min(in.size(), out.size()),
                  [&](std::span<const T> hi, std::span<T> ho) {
                    detail::all_reduce(comm, hi, ho, op, algorithm);
                  });
  }
  const std::size_t chunks = (in.size() + chunk - 1) / chunk;
  auto count_of = [&](std::size_t c) { return std::min(chunk, in.size() - c * chunk); };
  auto buffer_of = [&](std::size_t c) {
    return space.template staging<T>(chunk, static_cast<int>(c % 2));
  };
  space.copy(buffer_of(0).data(), in.data(), count_of(0));
  space.wait();
  for (std::size_t c = 0; c < chunks; ++c) {
    if (c + 1 < chunks)
      space.copy(buffer_of(c + 1).data(), in.data() + (c + 1) * chunk, count_of(c + 1));
    std::span<T> host = buffer_of(c).first(count_of(c));
    detail::all_reduce(comm, std::span<const T>(host), host, op, algorithm);
    space.wait();  // chunk c+1 is on the host, chunk c-1 back on the device
    space.copy(out.data() + c * chunk, host.data(), host.size());
  }
  space.wait();
}

}  // namespace detail

}  // namespace colt
