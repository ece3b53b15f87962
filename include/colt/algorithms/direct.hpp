#pragma once
// Direct algorithms: every rank talks to every other rank at once. With a zero-copy transport
// (in-process) a rank reduces its 1/p slice reading all peers' buffers in one fused pass (p
// reads and one write per element: the memory floor on one node), then fetches the other
// slices. Without views, the peers' slices are first received into the workspace.
// On device memory (Call::on_device) every receive is a view: the call's memory space copies or
// reduces straight out of the peers' device buffers (one fused kernel over all p slices), and the
// views are let go only after the space's wait().

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "colt/algorithms/primitives.hpp"
#include "colt/algorithms/schedule/segments.hpp"

namespace colt::algorithms::direct {

// Waits for every send posted in the request store, then drops them.
template <class Call>
void finish_sends(Call& call) {
  auto& sends = call.request_store().sends;
  for (auto& send : sends) send.wait(call.deadline());
  sends.clear();
}

// Points store.inputs[peer] at each rank's `count` elements destined to this rank (a view of
// the peer's own buffer, or its copy in the workspace), and store.inputs[rank] at `own`. With
// views, the peers' buffers stay readable until store.views is cleared.
template <class T, class Call>
void collect_inputs(Call& call, const T* own, std::size_t count) {
  const int p = call.size(), r = call.rank();
  auto& store = call.request_store();
  store.inputs.assign(static_cast<std::size_t>(p), nullptr);
  store.inputs[static_cast<std::size_t>(r)] = own;
  const std::size_t bytes = count * sizeof(T);
  if constexpr (Call::has_views) {
    store.views.clear();
    for (int peer = 0; peer < p; ++peer)
      if (peer != r) store.views.push_back(call.irecv_view(peer));
    for (int k = 0, peer = 0; peer < p; ++peer) {
      if (peer == r) continue;
      std::span<const std::byte> view =
          store.views[static_cast<std::size_t>(k++)].wait(call.deadline());
      if (view.size() != bytes) call.size_mismatch(peer, bytes, view.size());
      store.inputs[static_cast<std::size_t>(peer)] = view.data();
    }
  } else {
    std::span<T> staging = call.template scratch<T>(count * static_cast<std::size_t>(p - 1), 0);
    store.receives.clear();
    for (int k = 0, peer = 0; peer < p; ++peer) {
      if (peer == r) continue;
      std::span<T> part = staging.subspan(static_cast<std::size_t>(k++) * count, count);
      store.receives.push_back(call.irecv(peer, part));
      store.inputs[static_cast<std::size_t>(peer)] = part.data();
    }
    for (int k = 0, peer = 0; peer < p; ++peer)
      if (peer != r) call.finish_recv(store.receives[static_cast<std::size_t>(k++)], peer, bytes);
    store.receives.clear();
  }
}

// out = finished reduction, in rank order, of the inputs collect_inputs gathered.
template <class Call, class T, class Op>
void reduce_inputs(Call& call, T* out, std::size_t count, Op op) {
  const auto& inputs = call.request_store().inputs;
  if constexpr (Call::on_device) {
    std::vector<const T*> typed(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) typed[i] = static_cast<const T*>(inputs[i]);
    call.memory().reduce(op, out, std::span<const T* const>(typed), count, call.finish_ranks());
    call.memory().wait();
  } else {
    reduce_many_at(
        op, out, inputs.size(), [&](std::size_t i) { return static_cast<const T*>(inputs[i]); },
        count, call.finish_ranks());
  }
}

// Lets the peers reuse the buffers collect_inputs read.
template <class Call>
void release_inputs(Call& call) {
  if constexpr (Call::has_views) call.request_store().views.clear();
}

// out = finished reduction of segment `rank` over every rank's `in` (all segments).
template <class Call, class T, class Op>
void reduce_scatter(Call& call, std::span<const T> in, std::span<T> out,
                    const schedule::Segments& segments, Op op) {
  const int p = call.size(), r = call.rank();
  auto& store = call.request_store();
  store.sends.clear();
  for (int k = 1; k < p; ++k) {  // staggered, so peers do not all read rank 0 first
    const int peer = (r + k) % p;
    const partition::Range range = segments[peer];
    store.sends.push_back(call.isend(peer, in.subspan(range.begin, range.size())));
  }
  const partition::Range mine = segments[r];
  collect_inputs<T>(call, in.data() + mine.begin, mine.size());
  reduce_inputs(call, out.data(), mine.size(), op);
  release_inputs(call);
  finish_sends(call);
}

// all_gather on device memory: every peer's segment copied straight out of its buffer.
template <class Call, class T>
void all_gather_views(Call& call, std::span<T> out, const schedule::Segments& segments) {
  const int p = call.size(), r = call.rank();
  auto& store = call.request_store();
  const partition::Range mine = segments[r];
  std::span<const T> own = out.subspan(mine.begin, mine.size());
  store.sends.clear();
  store.views.clear();
  for (int k = 1; k < p; ++k) {
    store.sends.push_back(call.isend((r + k) % p, own));
    store.views.push_back(call.irecv_view((r - k + p) % p));
  }
  for (int k = 1; k < p; ++k) {
    const int from = (r - k + p) % p;
    const partition::Range range = segments[from];
    call.copy_from_view(store.views[static_cast<std::size_t>(k - 1)], from,
                        out.subspan(range.begin, range.size()));
  }
  call.memory().wait();
  store.views.clear();
  finish_sends(call);
}

// out holds all segments; this rank's is in place. Each rank sends its segment to every peer.
template <class Call, class T>
void all_gather(Call& call, std::span<T> out, const schedule::Segments& segments) {
  if constexpr (Call::on_device) {
    all_gather_views(call, out, segments);
  } else {
    const int p = call.size(), r = call.rank();
    auto& store = call.request_store();
    const partition::Range mine = segments[r];
    std::span<const T> own = out.subspan(mine.begin, mine.size());
    store.sends.clear();
    store.receives.clear();
    for (int k = 1; k < p; ++k) {
      const int to = (r + k) % p, from = (r - k + p) % p;
      const partition::Range range = segments[from];
      store.receives.push_back(call.irecv(from, out.subspan(range.begin, range.size())));
      store.sends.push_back(call.isend(to, own));
    }
    for (int k = 1; k < p; ++k) {
      const int from = (r - k + p) % p;
      call.finish_recv(store.receives[static_cast<std::size_t>(k - 1)], from,
                       segments[from].size() * sizeof(T));
    }
    finish_sends(call);
    store.receives.clear();
  }
}

template <class Call, class T, class Op>
void all_reduce(Call& call, std::span<const T> in, std::span<T> out, Op op) {
  const auto segments = schedule::Segments::even(in.size(), call.size());
  const partition::Range mine = segments[call.rank()];
  reduce_scatter(call, in, out.subspan(mine.begin, mine.size()), segments, op);
  all_gather(call, out, segments);
}

// The root's `data` sent to every rank by the root itself.
template <class Call, class T>
void broadcast(Call& call, std::span<T> data, int root) {
  const int p = call.size(), r = call.rank();
  if (r != root) {
    call.recv(root, data);
    return;
  }
  auto& store = call.request_store();
  store.sends.clear();
  for (int k = 1; k < p; ++k)
    store.sends.push_back(call.isend((root + k) % p, std::span<const T>(data)));
  finish_sends(call);
}

// out (root only) = finished reduction of every rank's `in`, reduced by the root in one pass.
template <class Call, class T, class Op>
void reduce(Call& call, std::span<const T> in, std::span<T> out, int root, Op op) {
  const int r = call.rank();
  if (r != root) {
    auto send = call.isend(root, in);
    send.wait(call.deadline());
    return;
  }
  collect_inputs<T>(call, in.data(), in.size());
  reduce_inputs(call, out.data(), in.size(), op);
  release_inputs(call);
}

// Root sends segment j of `in` to rank j; each rank receives its own segment into `out`.
template <class Call, class T>
void scatter(Call& call, std::span<const T> in, std::span<T> out,
             const schedule::Segments& segments, int root) {
  const int p = call.size(), r = call.rank();
  const partition::Range mine = segments[r];
  if (r != root) {
    call.recv(root, out.first(mine.size()));
    return;
  }
  auto& store = call.request_store();
  store.sends.clear();
  for (int k = 1; k < p; ++k) {
    const int peer = (root + k) % p;
    const partition::Range range = segments[peer];
    store.sends.push_back(call.isend(peer, in.subspan(range.begin, range.size())));
  }
  std::span<const T> own = in.subspan(mine.begin, mine.size());
  call.memory().copy(out.data(), own.data(), own.size());
  call.memory().wait();
  finish_sends(call);
}

// Each rank's `in` lands in segment `rank` of the root's `out`.
template <class Call, class T>
void gather(Call& call, std::span<const T> in, std::span<T> out, const schedule::Segments& segments,
            int root) {
  const int p = call.size(), r = call.rank();
  if (r != root) {
    auto send = call.isend(root, in);
    send.wait(call.deadline());
    return;
  }
  auto& store = call.request_store();
  const partition::Range mine = segments[r];
  if constexpr (!Call::on_device) {
    store.receives.clear();
    for (int k = 1; k < p; ++k) {
      const partition::Range range = segments[(root + k) % p];
      store.receives.push_back(call.irecv((root + k) % p, out.subspan(range.begin, range.size())));
    }
    if (in.data() != out.data() + mine.begin)
      std::copy(in.begin(), in.end(), out.begin() + static_cast<std::ptrdiff_t>(mine.begin));
    for (int k = 1; k < p; ++k) {
      const int peer = (root + k) % p;
      call.finish_recv(store.receives[static_cast<std::size_t>(k - 1)], peer,
                       segments[peer].size() * sizeof(T));
    }
    store.receives.clear();
  } else {  // device memory: each peer's buffer copied straight into place
    store.views.clear();
    for (int k = 1; k < p; ++k) store.views.push_back(call.irecv_view((root + k) % p));
    call.memory().copy(out.data() + mine.begin, in.data(), in.size());
    for (int k = 1; k < p; ++k) {
      const int peer = (root + k) % p;
      const partition::Range range = segments[peer];
      call.copy_from_view(store.views[static_cast<std::size_t>(k - 1)], peer,
                          out.subspan(range.begin, range.size()));
    }
    call.memory().wait();
    store.views.clear();
  }
}

// Segment j of this rank's `in` goes to rank j, which keeps it as its segment `rank` of `out`.
// Pairwise: at step k a rank sends to rank + k and receives from rank - k, so no rank is
// everybody's first target; all p - 1 sends and receives are posted before any is waited for.
// With views (in-process), each rank copies its incoming segments straight out of the senders'
// buffers, so every rank copies its own share at once; otherwise the transport delivers them.
template <class Call, class T>
void all_to_all(Call& call, std::span<const T> in, const schedule::Segments& sends,
                std::span<T> out, const schedule::Segments& receives) {
  const int p = call.size(), r = call.rank();
  auto& store = call.request_store();
  auto segment_of = [](auto buffer, const partition::Range& range) {
    return buffer.subspan(range.begin, range.size());
  };
  // This rank's own segment, copied while the peers' messages are under way.
  auto copy_own = [&] {
    const partition::Range own_in = sends[r], own_out = receives[r];
    std::copy_n(in.data() + own_in.begin, own_in.size(), out.data() + own_out.begin);
  };
  store.sends.clear();
  if constexpr (Call::has_views) {
    store.views.clear();
    for (int k = 1; k < p; ++k) {
      const int to = (r + k) % p, from = (r - k + p) % p;
      store.sends.push_back(call.isend(to, segment_of(in, sends[to])));
      store.views.push_back(call.irecv_view(from));
    }
    copy_own();
    for (int k = 1; k < p; ++k) {
      const int from = (r - k + p) % p;
      call.copy_from_view(store.views[static_cast<std::size_t>(k - 1)], from,
                          segment_of(out, receives[from]));
    }
    call.memory().wait();
    store.views.clear();
  } else {
    store.receives.clear();
    for (int k = 1; k < p; ++k) {
      const int to = (r + k) % p, from = (r - k + p) % p;
      store.receives.push_back(call.irecv(from, segment_of(out, receives[from])));
      store.sends.push_back(call.isend(to, segment_of(in, sends[to])));
    }
    copy_own();
    for (int k = 1; k < p; ++k) {
      const int from = (r - k + p) % p;
      call.finish_recv(store.receives[static_cast<std::size_t>(k - 1)], from,
                       receives[from].size() * sizeof(T));
    }
    store.receives.clear();
  }
  finish_sends(call);
}

}  // namespace colt::algorithms::direct
