#pragma once
// Collectives on device memory: the same names and forms as the host collectives, blocking and
// started (i*), taking colt::device_span<T, Space> buffers (core/memory.hpp). After the operands
// come, in either order and both optional, the algorithm and the stream (colt::DeviceStream: a
// cudaStream_t) the work is ordered on:
//
//   colt::all_reduce(comm, in, out, colt::sum{});                    default stream, automatic
//   colt::all_reduce(comm, in, out, colt::sum{}, stream);
//   colt::Request r = colt::iall_reduce(comm, data, colt::sum{}, colt::algo::ring, stream);
//
// A blocking call returns when its results are in place, after the work queued on `stream`
// before it; a started call does the same on the communicator's progress engine, and its request
// finishes then. Both keep their place among the communicator's calls exactly as host calls do
// (docs/nonblocking.md): a blocking call waits for the calls started before it.
//
// Two paths, chosen per call (collectives/detail/device_paths.hpp):
// - Through views (in-process ranks, the checksum option off): the direct
//   algorithm, in which each rank reads its peers' device buffers. all_reduce, reduce_scatter and
//   reduce fold all p slices in one fused kernel pass (the memory floor); the others are device
//   to device copies. Whatever algorithm is asked for, the views path runs direct: it moves the
//   fewest bytes on one node, and it folds in rank order, so `ordered` holds too.
// - Staged (MPI, UCX, or the checksum option, which reads messages on the host): buffers are
//   copied through the space's pinned host staging buffers and the host collective runs on them.
//   all_reduce is pipelined in chunks of Space::staging_chunk_bytes: chunk c+1 is copied to the
//   host and chunk c-1 back to the device while chunk c is reduced across the ranks.
//
// This header needs no CUDA. colt::cuda::Memory, the space device_span defaults to, is defined in
// <colt/cuda/collectives.cuh>.

#include <cstddef>
#include <span>

#include "colt/collectives/detail/counts.hpp"
#include "colt/collectives/detail/device_paths.hpp"
#include "colt/collectives/detail/start.hpp"
#include "colt/core/request.hpp"

namespace colt {

namespace detail {

// One body per collective, run by its blocking front door (in order behind started calls) and
// by its started one (on the progress engine).

template <class X, class T, class Space, class Op>
void device_all_reduce(Communicator<X>& comm, device_span<const T, Space> in,
                       device_span<T, Space> out, Op op, DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  if (ran_through_views(comm, [&](auto& c) {
        detail::all_reduce(c, as_span(in), as_span(out), op, a.algorithm, std::move(space));
      }))
    return;
  staged_all_reduce(comm, space, as_span(in), as_span(out), op, a.algorithm);
}

template <class X, class T, class Space, class Op>
void device_reduce_scatter(Communicator<X>& comm, device_span<const T, Space> in,
                           device_span<T, Space> out, Op op, DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto i = as_span(in);
  auto o = as_span(out);
  if (ran_through_views(comm, [&](auto& c) {
        detail::reduce_scatter_even(c, i, o, op, a.algorithm, std::move(space));
      }))
    return;
  staged(space, i, i.size(), o, o.size(), [&](std::span<const T> hi, std::span<T> ho) {
    detail::reduce_scatter_even(comm, hi, ho, op, a.algorithm);
  });
}

template <class X, class T, class Space, class Op>
void device_reduce_scatter_v(Communicator<X>& comm, device_span<const T, Space> in,
                             device_span<T, Space> out, std::span<const std::size_t> counts, Op op,
                             DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto i = as_span(in);
  auto o = as_span(out);
  if (ran_through_views(comm, [&](auto& c) {
        detail::reduce_scatter_counts(c, i, o, counts, op, a.algorithm, std::move(space));
      }))
    return;
  const auto r = static_cast<std::size_t>(comm.rank());
  const std::size_t mine = r < counts.size() ? std::min(counts[r], o.size()) : 0;
  staged(space, i, i.size(), o, mine, [&](std::span<const T> hi, std::span<T> ho) {
    detail::reduce_scatter_counts(comm, hi, ho, counts, op, a.algorithm);
  });
}

template <class X, class T, class Space>
void device_all_gather(Communicator<X>& comm, device_span<const T, Space> in,
                       device_span<T, Space> out, DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto i = as_span(in);
  auto o = as_span(out);
  if (ran_through_views(
          comm, [&](auto& c) { detail::all_gather_even(c, i, o, a.algorithm, std::move(space)); }))
    return;
  staged(space, i, i.size(), o, o.size(), [&](std::span<const T> hi, std::span<T> ho) {
    detail::all_gather_even(comm, hi, ho, a.algorithm);
  });
}

template <class X, class T, class Space>
void device_all_gather_in_place(Communicator<X>& comm, device_span<T, Space> data, DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto d = as_span(data);
  if (ran_through_views(
          comm, [&](auto& c) { detail::all_gather_in_place(c, d, a.algorithm, std::move(space)); }))
    return;
  staged_in_place(space, d, d.size(), d.size(),
                  [&](std::span<T> host) { detail::all_gather_in_place(comm, host, a.algorithm); });
}

template <class X, class T, class Space>
void device_all_gather_v(Communicator<X>& comm, device_span<const T, Space> in,
                         device_span<T, Space> out, std::span<const std::size_t> counts,
                         DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto i = as_span(in);
  auto o = as_span(out);
  if (ran_through_views(comm, [&](auto& c) {
        detail::all_gather_counts(c, i, o, counts, a.algorithm, std::move(space));
      }))
    return;
  std::size_t total = 0;
  for (std::size_t c : counts) total += c;
  staged(space, i, i.size(), o, std::min(total, o.size()),
         [&](std::span<const T> hi, std::span<T> ho) {
           detail::all_gather_counts(comm, hi, ho, counts, a.algorithm);
         });
}

template <class X, class T, class Space>
void device_broadcast(Communicator<X>& comm, device_span<T, Space> data, int root, DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto d = as_span(data);
  if (ran_through_views(
          comm, [&](auto& c) { detail::broadcast(c, d, root, a.algorithm, std::move(space)); }))
    return;
  const bool is_root = comm.rank() == root;
  staged_in_place(space, d, is_root ? d.size() : 0, is_root ? 0 : d.size(),
                  [&](std::span<T> host) { detail::broadcast(comm, host, root, a.algorithm); });
}

template <class X, class T, class Space, class Op>
void device_reduce(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                   int root, Op op, DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto i = as_span(in);
  auto o = as_span(out);
  if (ran_through_views(
          comm, [&](auto& c) { detail::reduce(c, i, o, root, op, a.algorithm, std::move(space)); }))
    return;
  staged(space, i, i.size(), o, comm.rank() == root ? o.size() : 0,
         [&](std::span<const T> hi, std::span<T> ho) {
           detail::reduce(comm, hi, ho, root, op, a.algorithm);
         });
}

template <class X, class T, class Space>
void device_scatter(Communicator<X>& comm, device_span<const T, Space> in,
                    device_span<T, Space> out, int root, DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto i = as_span(in);
  auto o = as_span(out);
  if (ran_through_views(comm, [&](auto& c) {
        detail::scatter_even(c, i, o, root, a.algorithm, std::move(space));
      }))
    return;
  staged(space, i, comm.rank() == root ? i.size() : 0, o, o.size(),
         [&](std::span<const T> hi, std::span<T> ho) {
           detail::scatter_even(comm, hi, ho, root, a.algorithm);
         });
}

template <class X, class T, class Space>
void device_scatter_v(Communicator<X>& comm, device_span<const T, Space> in,
                      device_span<T, Space> out, std::span<const std::size_t> counts, int root,
                      DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto i = as_span(in);
  auto o = as_span(out);
  if (ran_through_views(comm, [&](auto& c) {
        detail::scatter_counts(c, i, o, counts, root, a.algorithm, std::move(space));
      }))
    return;
  const auto r = static_cast<std::size_t>(comm.rank());
  const std::size_t mine = r < counts.size() ? std::min(counts[r], o.size()) : 0;
  staged(space, i, comm.rank() == root ? i.size() : 0, o, mine,
         [&](std::span<const T> hi, std::span<T> ho) {
           detail::scatter_counts(comm, hi, ho, counts, root, a.algorithm);
         });
}

template <class X, class T, class Space>
void device_gather(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                   int root, DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto i = as_span(in);
  auto o = as_span(out);
  if (ran_through_views(comm, [&](auto& c) {
        detail::gather_even(c, i, o, root, a.algorithm, std::move(space));
      }))
    return;
  staged(space, i, i.size(), o, comm.rank() == root ? o.size() : 0,
         [&](std::span<const T> hi, std::span<T> ho) {
           detail::gather_even(comm, hi, ho, root, a.algorithm);
         });
}

template <class X, class T, class Space>
void device_gather_v(Communicator<X>& comm, device_span<const T, Space> in,
                     device_span<T, Space> out, std::span<const std::size_t> counts, int root,
                     DeviceArgs a) {
  Space space = make_space<Space>(a.stream);
  auto i = as_span(in);
  auto o = as_span(out);
  if (ran_through_views(comm, [&](auto& c) {
        detail::gather_counts(c, i, o, counts, root, a.algorithm, std::move(space));
      }))
    return;
  std::size_t total = 0;
  for (std::size_t c : counts) total += c;
  staged(space, i, i.size(), o, comm.rank() == root ? std::min(total, o.size()) : 0,
         [&](std::span<const T> hi, std::span<T> ho) {
           detail::gather_counts(comm, hi, ho, counts, root, a.algorithm);
         });
}

}  // namespace detail

// The front doors: each collective's blocking form, then its started form (the same arguments,
// returning a colt::Request). A started call keeps the device spans (views) and a copy of the
// counts it is given until it finishes; the memory they point to stays the caller's to keep.

// out = op-reduction of `in` over all ranks.
template <Transport X, class T, class Space, class Op, DeviceCallArg... Args>
  requires ReductionFor<Op, T> && detail::device_args_once<Args...>
void all_reduce(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                Op op, Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::all_reduce,
                       [&] { detail::device_all_reduce(comm, in, out, op, a); });
}
template <Transport X, class T, class Space, class Op, DeviceCallArg... Args>
  requires ReductionFor<Op, T> && detail::device_args_once<Args...>
Request iall_reduce(Communicator<X>& comm, device_span<const T, Space> in,
                    device_span<T, Space> out, Op op, Args... args) {
  return detail::start(comm, CollectiveKind::all_reduce,
                       [&comm, in, out, op, a = detail::device_args(args...)] {
                         detail::device_all_reduce(comm, in, out, op, a);
                       });
}

// In place: `data` is replaced by the reduction over all ranks.
template <Transport X, class T, class Space, class Op, DeviceCallArg... Args>
  requires ReductionFor<Op, T> && detail::device_args_once<Args...>
void all_reduce(Communicator<X>& comm, device_span<T, Space> data, Op op, Args... args) {
  all_reduce(comm, device_span<const T, Space>(data), data, op, args...);
}
template <Transport X, class T, class Space, class Op, DeviceCallArg... Args>
  requires ReductionFor<Op, T> && detail::device_args_once<Args...>
Request iall_reduce(Communicator<X>& comm, device_span<T, Space> data, Op op, Args... args) {
  return iall_reduce(comm, device_span<const T, Space>(data), data, op, args...);
}

// out (in.size() / size() elements) = segment rank() of the reduction of `in` over all ranks.
template <Transport X, class T, class Space, class Op, DeviceCallArg... Args>
  requires ReductionFor<Op, T> && detail::device_args_once<Args...>
void reduce_scatter(Communicator<X>& comm, device_span<const T, Space> in,
                    device_span<T, Space> out, Op op, Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::reduce_scatter,
                       [&] { detail::device_reduce_scatter(comm, in, out, op, a); });
}
template <Transport X, class T, class Space, class Op, DeviceCallArg... Args>
  requires ReductionFor<Op, T> && detail::device_args_once<Args...>
Request ireduce_scatter(Communicator<X>& comm, device_span<const T, Space> in,
                        device_span<T, Space> out, Op op, Args... args) {
  return detail::start(comm, CollectiveKind::reduce_scatter,
                       [&comm, in, out, op, a = detail::device_args(args...)] {
                         detail::device_reduce_scatter(comm, in, out, op, a);
                       });
}

// out (counts[rank()] elements) = that segment of the reduction; segments follow `counts`.
template <Transport X, class T, class Space, class Op, DeviceCallArg... Args>
  requires ReductionFor<Op, T> && detail::device_args_once<Args...>
void reduce_scatter_v(Communicator<X>& comm, device_span<const T, Space> in,
                      device_span<T, Space> out, std::span<const std::size_t> counts, Op op,
                      Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::reduce_scatter,
                       [&] { detail::device_reduce_scatter_v(comm, in, out, counts, op, a); });
}
template <Transport X, class T, class Space, class Op, DeviceCallArg... Args>
  requires ReductionFor<Op, T> && detail::device_args_once<Args...>
Request ireduce_scatter_v(Communicator<X>& comm, device_span<const T, Space> in,
                          device_span<T, Space> out, std::span<const std::size_t> counts, Op op,
                          Args... args) {
  return detail::start(
      comm, CollectiveKind::reduce_scatter,
      [&comm, in, out, c = detail::copy_counts(counts), op, a = detail::device_args(args...)] {
        detail::device_reduce_scatter_v(comm, in, out, std::span<const std::size_t>(c), op, a);
      });
}

// out (in.size() x size() elements) = every rank's `in`, in rank order.
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
void all_gather(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::all_gather,
                       [&] { detail::device_all_gather(comm, in, out, a); });
}
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
Request iall_gather(Communicator<X>& comm, device_span<const T, Space> in,
                    device_span<T, Space> out, Args... args) {
  return detail::start(comm, CollectiveKind::all_gather,
                       [&comm, in, out, a = detail::device_args(args...)] {
                         detail::device_all_gather(comm, in, out, a);
                       });
}

// In place: segment rank() of `data` is this rank's contribution; the others are filled in.
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
void all_gather(Communicator<X>& comm, device_span<T, Space> data, Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::all_gather,
                       [&] { detail::device_all_gather_in_place(comm, data, a); });
}
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
Request iall_gather(Communicator<X>& comm, device_span<T, Space> data, Args... args) {
  return detail::start(comm, CollectiveKind::all_gather,
                       [&comm, data, a = detail::device_args(args...)] {
                         detail::device_all_gather_in_place(comm, data, a);
                       });
}

// out = every rank's `in` (counts[k] elements from rank k), concatenated in rank order.
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
void all_gather_v(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                  std::span<const std::size_t> counts, Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::all_gather,
                       [&] { detail::device_all_gather_v(comm, in, out, counts, a); });
}
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
Request iall_gather_v(Communicator<X>& comm, device_span<const T, Space> in,
                      device_span<T, Space> out, std::span<const std::size_t> counts,
                      Args... args) {
  return detail::start(
      comm, CollectiveKind::all_gather,
      [&comm, in, out, c = detail::copy_counts(counts), a = detail::device_args(args...)] {
        detail::device_all_gather_v(comm, in, out, std::span<const std::size_t>(c), a);
      });
}

// The root's `data` on every rank.
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
void broadcast(Communicator<X>& comm, device_span<T, Space> data, int root, Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::broadcast,
                       [&] { detail::device_broadcast(comm, data, root, a); });
}
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
Request ibroadcast(Communicator<X>& comm, device_span<T, Space> data, int root, Args... args) {
  return detail::start(comm, CollectiveKind::broadcast,
                       [&comm, data, root, a = detail::device_args(args...)] {
                         detail::device_broadcast(comm, data, root, a);
                       });
}

// out (root only) = op-reduction of every rank's `in`.
template <Transport X, class T, class Space, class Op, DeviceCallArg... Args>
  requires ReductionFor<Op, T> && detail::device_args_once<Args...>
void reduce(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
            int root, Op op, Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::reduce,
                       [&] { detail::device_reduce(comm, in, out, root, op, a); });
}
template <Transport X, class T, class Space, class Op, DeviceCallArg... Args>
  requires ReductionFor<Op, T> && detail::device_args_once<Args...>
Request ireduce(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                int root, Op op, Args... args) {
  return detail::start(comm, CollectiveKind::reduce,
                       [&comm, in, out, root, op, a = detail::device_args(args...)] {
                         detail::device_reduce(comm, in, out, root, op, a);
                       });
}

// out = segment rank() of the root's `in` (out.size() x size() elements, read on the root).
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
void scatter(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
             int root, Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::scatter,
                       [&] { detail::device_scatter(comm, in, out, root, a); });
}
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
Request iscatter(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                 int root, Args... args) {
  return detail::start(comm, CollectiveKind::scatter,
                       [&comm, in, out, root, a = detail::device_args(args...)] {
                         detail::device_scatter(comm, in, out, root, a);
                       });
}

// out (counts[rank()] elements) = that segment of the root's `in`, segments following `counts`.
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
void scatter_v(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
               std::span<const std::size_t> counts, int root, Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::scatter,
                       [&] { detail::device_scatter_v(comm, in, out, counts, root, a); });
}
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
Request iscatter_v(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                   std::span<const std::size_t> counts, int root, Args... args) {
  return detail::start(
      comm, CollectiveKind::scatter,
      [&comm, in, out, c = detail::copy_counts(counts), root, a = detail::device_args(args...)] {
        detail::device_scatter_v(comm, in, out, std::span<const std::size_t>(c), root, a);
      });
}

// Each rank's `in` lands in segment rank() of the root's `out` (in.size() x size() elements).
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
void gather(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
            int root, Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::gather,
                       [&] { detail::device_gather(comm, in, out, root, a); });
}
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
Request igather(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                int root, Args... args) {
  return detail::start(comm, CollectiveKind::gather,
                       [&comm, in, out, root, a = detail::device_args(args...)] {
                         detail::device_gather(comm, in, out, root, a);
                       });
}

// Rank k's `in` (counts[k] elements) lands at offset counts[0] + ... + counts[k-1] of the root's
// `out`.
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
void gather_v(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
              std::span<const std::size_t> counts, int root, Args... args) {
  const auto a = detail::device_args(args...);
  detail::run_in_order(comm, CollectiveKind::gather,
                       [&] { detail::device_gather_v(comm, in, out, counts, root, a); });
}
template <Transport X, class T, class Space, DeviceCallArg... Args>
  requires detail::device_args_once<Args...>
Request igather_v(Communicator<X>& comm, device_span<const T, Space> in, device_span<T, Space> out,
                  std::span<const std::size_t> counts, int root, Args... args) {
  return detail::start(
      comm, CollectiveKind::gather,
      [&comm, in, out, c = detail::copy_counts(counts), root, a = detail::device_args(args...)] {
        detail::device_gather_v(comm, in, out, std::span<const std::size_t>(c), root, a);
      });
}

}  // namespace colt
