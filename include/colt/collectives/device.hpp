#pragma once
// Collectives on device memory: the same names and forms as the host collectives, taking
// colt::device_span<T, Space> buffers (core/memory.hpp), plus the stream the work is ordered on.
// Every call returns when its results are in place (like the host collectives), after the work
// queued on `stream` before it.
//
// Two paths, chosen per call:
// - Native (a transport with views, i.e. in-process ranks; checksum option off): the direct
//   algorithm, in which each rank reads its peers' device buffers. all_reduce, reduce_scatter and
//   reduce fold all p slices in one fused kernel pass (the memory floor); the others are device
//   to device copies. Whatever algorithm is asked for, the native path runs direct: it moves the
//   fewest bytes on one node, and it folds in rank order, so `ordered` holds too.
// - Staged (MPI, UCX, or the checksum option, which reads messages on the host): buffers are
//   copied through the space's pinned host staging buffers and the host collective runs on them.
//   all_reduce is pipelined in chunks of Space::staging_chunk_bytes: chunk c+1 is copied to the
//   host and chunk c-1 back to the device while chunk c is reduced across the ranks.
//
// This header needs no CUDA: it is written against the memory-space interface (reduce/memory.hpp).
// colt::cuda::Memory, the space device_span defaults to, is defined in <colt/cuda/collectives.cuh>.

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
#include "colt/core/communicator.hpp"
#include "colt/core/memory.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/reduce/memory.hpp"

namespace colt {

namespace detail {

template <class S>
concept CompleteType = requires { sizeof(S); };

// The space a call works in, made from the caller's stream.
template <class Space>
Space make_space(void* stream) {
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

// Runs fn(comm) and returns true when this call can run natively (peers read each other's
// device buffers: a transport with views, and no checksum, which would read messages on the
// host); fn is instantiated only for such transports.
template <class X, class Fn>
bool ran_natively(Communicator<X>& comm, Fn&& fn) {
  if constexpr (ViewTransport<detail::link_t<X>>) {
    if (!comm.checksum()) {
      fn(comm);
      return true;
    }
  }
  return false;
}

// Host copies of the device buffers: `in` (its first in_count elements copied from the device)
// in staging slot 0, `out` in slot 1. `host_call(host_in, host_out)` runs the host collective,
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

// The same for a collective that works in place: one staging buffer (slot 1) for `data`, its
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

// all_reduce through host staging, pipelined in chunks (see the header comment). Slots 0 and 1
// alternate; one stream orders each chunk's copy back before the copy that reuses its slot.
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
  auto slot = [&](std::size_t c) {
    return space.template staging<T>(chunk, static_cast<int>(c % 2));
  };
  space.copy(slot(0).data(), in.data(), count_of(0));
  space.wait();
  for (std::size_t c = 0; c < chunks; ++c) {
    if (c + 1 < chunks)
      space.copy(slot(c + 1).data(), in.data() + (c + 1) * chunk, count_of(c + 1));
    std::span<T> host = slot(c).first(count_of(c));
    detail::all_reduce(comm, std::span<const T>(host), host, op, algorithm);
    space.wait();  // chunk c+1 is on the host, chunk c-1 back on the device
    space.copy(out.data() + c * chunk, host.data(), host.size());
  }
  space.wait();
}

}  // namespace detail

// out = op-reduction of `in` over all ranks (device buffers; see the header comment).
template <Transport X, class T, class Space, class Op>
  requires ReductionFor<Op, T>
void all_reduce(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                Op op, Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  if (detail::ran_natively(comm, [&](auto& c) {
        detail::all_reduce(c, detail::as_span(in), detail::as_span(out), op, algorithm,
                           std::move(space));
      }))
    return;
  detail::staged_all_reduce(comm, space, detail::as_span(in), detail::as_span(out), op, algorithm);
}

template <Transport X, class T, class Space, class Op>
  requires ReductionFor<Op, T>
void all_reduce(Communicator<X>& comm, device_span<T, Space> data, Op op,
                Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  all_reduce(comm, device_span<const T, Space>(data), data, op, algorithm, stream);
}

// out (in.size() / size() elements) = segment rank() of the reduction of `in` over all ranks.
template <Transport X, class T, class Space, class Op>
  requires ReductionFor<Op, T>
void reduce_scatter(Communicator<X>& comm, device_span<const T, Space> in,
                    device_span<T, Space> out, Op op, Algorithm algorithm = Algorithm::automatic,
                    void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto i = detail::as_span(in);
  auto o = detail::as_span(out);
  if (detail::ran_natively(comm, [&](auto& c) {
        detail::reduce_scatter_even(c, i, o, op, algorithm, std::move(space));
      }))
    return;
  detail::staged(space, i, i.size(), o, o.size(), [&](std::span<const T> hi, std::span<T> ho) {
    detail::reduce_scatter_even(comm, hi, ho, op, algorithm);
  });
}

template <Transport X, class T, class Space, class Op>
  requires ReductionFor<Op, T>
void reduce_scatter_v(Communicator<X>& comm, device_span<const T, Space> in,
                      device_span<T, Space> out, std::span<const std::size_t> counts, Op op,
                      Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto i = detail::as_span(in);
  auto o = detail::as_span(out);
  if (detail::ran_natively(comm, [&](auto& c) {
        detail::reduce_scatter_counts(c, i, o, counts, op, algorithm, std::move(space));
      }))
    return;
  const auto r = static_cast<std::size_t>(comm.rank());
  const std::size_t mine = r < counts.size() ? std::min(counts[r], o.size()) : 0;
  detail::staged(space, i, i.size(), o, mine, [&](std::span<const T> hi, std::span<T> ho) {
    detail::reduce_scatter_counts(comm, hi, ho, counts, op, algorithm);
  });
}

// out (in.size() x size() elements) = every rank's `in`, in rank order.
template <Transport X, class T, class Space>
void all_gather(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto i = detail::as_span(in);
  auto o = detail::as_span(out);
  if (detail::ran_natively(
          comm, [&](auto& c) { detail::all_gather_even(c, i, o, algorithm, std::move(space)); }))
    return;
  detail::staged(space, i, i.size(), o, o.size(), [&](std::span<const T> hi, std::span<T> ho) {
    detail::all_gather_even(comm, hi, ho, algorithm);
  });
}

// In place: segment rank() of `data` is this rank's contribution; the others are filled in.
template <Transport X, class T, class Space>
void all_gather(Communicator<X>& comm, device_span<T, Space> data,
                Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto d = detail::as_span(data);
  if (detail::ran_natively(
          comm, [&](auto& c) { detail::all_gather_in_place(c, d, algorithm, std::move(space)); }))
    return;
  detail::staged_in_place(space, d, d.size(), d.size(), [&](std::span<T> host) {
    detail::all_gather_in_place(comm, host, algorithm);
  });
}

template <Transport X, class T, class Space>
void all_gather_v(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                  std::span<const std::size_t> counts, Algorithm algorithm = Algorithm::automatic,
                  void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto i = detail::as_span(in);
  auto o = detail::as_span(out);
  if (detail::ran_natively(comm, [&](auto& c) {
        detail::all_gather_counts(c, i, o, counts, algorithm, std::move(space));
      }))
    return;
  std::size_t total = 0;
  for (std::size_t c : counts) total += c;
  detail::staged(space, i, i.size(), o, std::min(total, o.size()),
                 [&](std::span<const T> hi, std::span<T> ho) {
                   detail::all_gather_counts(comm, hi, ho, counts, algorithm);
                 });
}

// The root's `data` on every rank.
template <Transport X, class T, class Space>
void broadcast(Communicator<X>& comm, device_span<T, Space> data, int root,
               Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto d = detail::as_span(data);
  if (detail::ran_natively(
          comm, [&](auto& c) { detail::broadcast(c, d, root, algorithm, std::move(space)); }))
    return;
  const bool is_root = comm.rank() == root;
  detail::staged_in_place(
      space, d, is_root ? d.size() : 0, is_root ? 0 : d.size(),
      [&](std::span<T> host) { detail::broadcast(comm, host, root, algorithm); });
}

// out (root only) = op-reduction of every rank's `in`.
template <Transport X, class T, class Space, class Op>
  requires ReductionFor<Op, T>
void reduce(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
            int root, Op op, Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto i = detail::as_span(in);
  auto o = detail::as_span(out);
  if (detail::ran_natively(
          comm, [&](auto& c) { detail::reduce(c, i, o, root, op, algorithm, std::move(space)); }))
    return;
  detail::staged(space, i, i.size(), o, comm.rank() == root ? o.size() : 0,
                 [&](std::span<const T> hi, std::span<T> ho) {
                   detail::reduce(comm, hi, ho, root, op, algorithm);
                 });
}

// out = segment rank() of the root's `in` (out.size() x size() elements, read on the root).
template <Transport X, class T, class Space>
void scatter(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
             int root, Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto i = detail::as_span(in);
  auto o = detail::as_span(out);
  if (detail::ran_natively(
          comm, [&](auto& c) { detail::scatter_even(c, i, o, root, algorithm, std::move(space)); }))
    return;
  detail::staged(space, i, comm.rank() == root ? i.size() : 0, o, o.size(),
                 [&](std::span<const T> hi, std::span<T> ho) {
                   detail::scatter_even(comm, hi, ho, root, algorithm);
                 });
}

template <Transport X, class T, class Space>
void scatter_v(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
               std::span<const std::size_t> counts, int root,
               Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto i = detail::as_span(in);
  auto o = detail::as_span(out);
  if (detail::ran_natively(comm, [&](auto& c) {
        detail::scatter_counts(c, i, o, counts, root, algorithm, std::move(space));
      }))
    return;
  const auto r = static_cast<std::size_t>(comm.rank());
  const std::size_t mine = r < counts.size() ? std::min(counts[r], o.size()) : 0;
  detail::staged(space, i, comm.rank() == root ? i.size() : 0, o, mine,
                 [&](std::span<const T> hi, std::span<T> ho) {
                   detail::scatter_counts(comm, hi, ho, counts, root, algorithm);
                 });
}

// Each rank's `in` lands in segment rank() of the root's `out` (in.size() x size() elements).
template <Transport X, class T, class Space>
void gather(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
            int root, Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto i = detail::as_span(in);
  auto o = detail::as_span(out);
  if (detail::ran_natively(
          comm, [&](auto& c) { detail::gather_even(c, i, o, root, algorithm, std::move(space)); }))
    return;
  detail::staged(space, i, i.size(), o, comm.rank() == root ? o.size() : 0,
                 [&](std::span<const T> hi, std::span<T> ho) {
                   detail::gather_even(comm, hi, ho, root, algorithm);
                 });
}

template <Transport X, class T, class Space>
void gather_v(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
              std::span<const std::size_t> counts, int root,
              Algorithm algorithm = Algorithm::automatic, void* stream = nullptr) {
  Space space = detail::make_space<Space>(stream);
  auto i = detail::as_span(in);
  auto o = detail::as_span(out);
  if (detail::ran_natively(comm, [&](auto& c) {
        detail::gather_counts(c, i, o, counts, root, algorithm, std::move(space));
      }))
    return;
  std::size_t total = 0;
  for (std::size_t c : counts) total += c;
  detail::staged(space, i, i.size(), o, comm.rank() == root ? std::min(total, o.size()) : 0,
                 [&](std::span<const T> hi, std::span<T> ho) {
                   detail::gather_counts(comm, hi, ho, counts, root, algorithm);
                 });
}

}  // namespace colt
