#pragma once
// The checks of every collective on device buffers, shared by the host test of the device code
// path (tests/collectives/test_device_memory.cpp, buffers in SimulatedDevice) and the GPU test
// (tests/gpu/test_device_collectives.cu, buffers in CUDA memory). `Mem` says how buffers are made:
//   typename Mem::template Buffer<T> b(host_vector);  b.span(), b.const_span(), b.download()
//
// Paths: in-process ranks take the views path (peers' buffers read through views, one fused
// reduction per call) and must match the rank-order fold bit for bit; ranks without views
// (CopyTransport) or with the checksum option take the staged path (host staging, all_reduce
// pipelined in chunks) and must match the reference within its rounding bound.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "colt/collectives/device.hpp"
#include "colt/transport/inprocess.hpp"
#include "copy_transport.hpp"
#include "matrix.hpp"
#include "random.hpp"
#include "ranks.hpp"
#include "reference.hpp"
#include "simulated_device.hpp"
#include "errors.hpp"

namespace colt::test {

enum class Path { views, staged, checksummed };
inline const char* name_of(Path path) {
  return path == Path::views    ? "through views"
         : path == Path::staged ? "staged (no views)"
                                : "staged (checksum)";
}
inline constexpr Path all_paths[] = {Path::views, Path::staged, Path::checksummed};

// fn(comm) on `ranks` threads whose communicators take `path`; `setup()` runs first on each.
template <class Fn>
void launch_on(Path path, int ranks, Fn&& fn) {
  if (path == Path::staged) return launch_copying(ranks, fn);
  inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
    if (path == Path::views) return fn(comm);
    Communicator<inprocess::Transport> with_checksum(
        comm.transport(), CommunicatorOptions{.timeout = comm.timeout(), .checksum = true});
    fn(with_checksum);
  });
}

// Values drawn for the op (prod: near 1), as the host collectives' tests draw them.
template <class T, class Op = sum>
std::vector<std::vector<T>> random_rank_inputs(std::uint64_t seed, int ranks, std::size_t count) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<T>> inputs(static_cast<std::size_t>(ranks));
  for (auto& in : inputs) in = random_buffer<T, Op>(rng, count);
  return inputs;
}

// The rank-order fold the views path promises, bit for bit.
template <class T, class Op>
std::vector<T> rank_order_fold(const std::vector<std::vector<T>>& inputs, std::size_t offset,
                               std::size_t count) {
  std::vector<T> out(count);
  std::vector<const T*> pointers;
  for (const auto& in : inputs) pointers.push_back(in.data() + offset);
  if (count)
    reduce_many(Op{}, out.data(), std::span<const T* const>(pointers), count,
                static_cast<int>(inputs.size()));
  return out;
}

template <class T, class Op>
void check_reduced(Path path, const std::vector<std::vector<T>>& inputs, std::span<const T> got,
                   std::size_t offset) {
  if (path == Path::views) {
    const auto expected = rank_order_fold<T, Op>(inputs, offset, got.size());
    CHECK_MESSAGE(same_bits<T>(got, expected), "not the rank-order fold");
  } else {
    const std::string wrong = Reference<T, Op>(inputs, offset, got.size()).check(got);
    CHECK_MESSAGE(wrong.empty(), wrong);
  }
}

// all_reduce (out of place, and in place under algo::ring), reduce_scatter and reduce.
template <class Mem, class T, class Op>
void reducing_case(Path path, int p, std::size_t count, std::uint64_t seed) {
  using Buffer = typename Mem::template Buffer<T>;
  INFO(name_of(path), ", ", p, " ranks, ", count, " elements, ", colt::name_of(data_type_of<T>),
       " ", Op::name);
  const auto inputs = random_rank_inputs<T, Op>(seed, p, count);
  const auto size = static_cast<std::size_t>(p);
  std::vector<std::vector<T>> all_out(size), in_place(size), scattered(size), reduced(size);
  std::vector<SimulatedDevice::Counters> seen(size);
  const std::size_t block = count / size;
  launch_on(path, p, [&](auto& comm) {
    const auto r = static_cast<std::size_t>(comm.rank());
    Mem::setup();
    SimulatedDevice::counters() = {};
    Buffer in(inputs[r]), out(poisoned<T>(count, seed + r));
    all_reduce(comm, in.const_span(), out.span(), Op{});
    seen[r] = SimulatedDevice::counters();
    all_out[r] = out.download();
    Buffer data(inputs[r]);
    all_reduce(comm, data.span(), Op{}, algo::ring);
    in_place[r] = data.download();
    Buffer rs_in(std::vector<T>(inputs[r].begin(),
                                inputs[r].begin() + static_cast<std::ptrdiff_t>(block * size)));
    Buffer rs_out(poisoned<T>(block, seed + 7 * r));
    reduce_scatter(comm, rs_in.const_span(), rs_out.span(), Op{});
    scattered[r] = rs_out.download();
    Buffer at_root(poisoned<T>(count, seed + 11 * r));
    reduce(comm, in.const_span(), at_root.span(), p - 1, Op{});
    reduced[r] = at_root.download();
  });
  for (std::size_t r = 0; r < size; ++r) {
    INFO("rank ", r);
    check_reduced<T, Op>(path, inputs, std::span<const T>(all_out[r]), 0);
    CHECK(same_bits<T>(all_out[r], all_out[0]));
    CHECK(same_bits<T>(in_place[r], in_place[0]));
    check_reduced<T, Op>(path, inputs, std::span<const T>(in_place[r]),
                         0);  // ring on the host when staged
    check_reduced<T, Op>(path, inputs, std::span<const T>(scattered[r]), r * block);
  }
  check_reduced<T, Op>(path, inputs, std::span<const T>(reduced[size - 1]), 0);
  // Which path ran: views reduces once per call in one pass over all p inputs; staged stages.
  if (Mem::counts && count > 0 && p > 1) {
    if (path == Path::views) {
      CHECK(seen[0].reductions == 1);
      CHECK(seen[0].reduced_inputs == p);
      CHECK(seen[0].stagings == 0);
    } else {
      CHECK(seen[0].reductions == 0);
      CHECK(seen[0].stagings > 0);
    }
  }
}

// all_gather (both forms), all_gather_v, broadcast, scatter(_v), gather(_v) with n elements per
// rank (the v forms: per-rank counts that differ and may exceed n).
template <class Mem, class T>
void moving_case(Path path, int p, std::size_t n) {
  using Buffer = typename Mem::template Buffer<T>;
  INFO(name_of(path), ", ", p, " ranks, ", n, " elements per rank");
  const auto size = static_cast<std::size_t>(p);
  const auto inputs = random_rank_inputs<T>(base_seed() + n + size, p, n);
  std::vector<std::size_t> counts(size);
  for (std::size_t j = 0; j < size; ++j) counts[j] = (n * (j + 1)) % 17 + j % 2;
  std::size_t total = 0;
  for (std::size_t c : counts) total += c;
  std::vector<T> concatenated;
  for (const auto& in : inputs) concatenated.insert(concatenated.end(), in.begin(), in.end());
  auto contribution = [&](std::size_t j) {  // rank j's input for the v forms
    std::vector<T> v(counts[j]);
    for (std::size_t i = 0; i < counts[j]; ++i) v[i] = i < n ? inputs[j][i] : T(float(i));
    return v;
  };
  std::vector<T> concatenated_v;
  for (std::size_t j = 0; j < size; ++j) {
    auto v = contribution(j);
    concatenated_v.insert(concatenated_v.end(), v.begin(), v.end());
  }
  const int root = p / 2;
  const auto root_index = static_cast<std::size_t>(root);
  launch_on(path, p, [&](auto& comm) {
    const auto r = static_cast<std::size_t>(comm.rank());
    Mem::setup();
    const std::span<const std::size_t> cs(counts);
    Buffer in(inputs[r]), mine(contribution(r));
    Buffer gathered(poisoned<T>(n * size, r));
    all_gather(comm, in.const_span(), gathered.span());
    CHECK(same_bits<T>(gathered.download(), concatenated));
    std::vector<T> own = poisoned<T>(n * size, r + 1);
    std::copy(inputs[r].begin(), inputs[r].end(), own.begin() + static_cast<std::ptrdiff_t>(r * n));
    Buffer in_place(own);
    all_gather(comm, in_place.span());
    CHECK(same_bits<T>(in_place.download(), concatenated));
    const std::vector<T> poison_v = poisoned<T>(total + 2, r + 2);
    Buffer gathered_v(poison_v);
    all_gather_v(comm, mine.const_span(), gathered_v.span(), cs);
    const auto got_v = gathered_v.download();
    CHECK(same_bits<T>(std::span<const T>(got_v).first(total), concatenated_v));
    CHECK(same_bits<T>(std::span<const T>(got_v).last(2),
                       std::span<const T>(poison_v).last(2)));  // untouched
    Buffer data(r == root_index ? inputs[r] : poisoned<T>(n, r + 3));
    broadcast(comm, data.span(), root);
    CHECK(same_bits<T>(data.download(), inputs[root_index]));
    Buffer whole(concatenated), part(poisoned<T>(n, r + 4));
    scatter(comm, whole.const_span(), part.span(), root);
    CHECK(same_bits<T>(part.download(), inputs[r]));
    Buffer whole_v(concatenated_v), part_v(poisoned<T>(counts[r], r + 5));
    scatter_v(comm, whole_v.const_span(), part_v.span(), cs, root);
    CHECK(same_bits<T>(part_v.download(), contribution(r)));
    Buffer at_root(poisoned<T>(n * size, r + 6));
    gather(comm, in.const_span(), at_root.span(), root);
    if (r == root_index) CHECK(same_bits<T>(at_root.download(), concatenated));
    Buffer at_root_v(poisoned<T>(total, r + 7));
    gather_v(comm, mine.const_span(), at_root_v.span(), cs, root);
    if (r == root_index) CHECK(same_bits<T>(at_root_v.download(), concatenated_v));
  });
}

// Every collective's started form (i*) gives bit for bit what its blocking form gives, on the
// same ranks and path. Each is started, then its blocking form is called at once: the blocking
// call waits behind every call started before it, so all thirteen started calls are queued on
// the progress engine, in order, while blocking ones join between them.
template <class Mem, class T, class Op>
void started_case(Path path, int p, std::size_t n, std::uint64_t seed) {
  using Buffer = typename Mem::template Buffer<T>;
  INFO(name_of(path), ", ", p, " ranks, ", n, " elements per rank, started forms, ",
       colt::name_of(data_type_of<T>), " ", Op::name);
  const auto size = static_cast<std::size_t>(p);
  const auto inputs = random_rank_inputs<T, Op>(seed, p, n * size);
  std::vector<std::size_t> counts(size);
  for (std::size_t j = 0; j < size; ++j) counts[j] = j % 2 == 0 ? n : n / 2;
  const std::size_t total = std::accumulate(counts.begin(), counts.end(), std::size_t{0});
  const int root = p - 1;
  launch_on(path, p, [&](auto& comm) {
    Mem::setup();
    const auto r = static_cast<std::size_t>(comm.rank());
    const std::span<const std::size_t> cs(counts);
    const std::vector<T>& mine = inputs[r];
    auto first = [&](std::size_t k) {
      return std::vector<T>(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(k));
    };
    const Buffer in(mine), in_block(first(n)), in_v(first(counts[r])), in_total(first(total));
    std::deque<std::pair<Buffer, Buffer>> pairs;  // the blocking form's output, the started one's
    auto two = [&](const std::vector<T>& initial) -> std::pair<Buffer, Buffer>& {
      return pairs.emplace_back(Buffer(initial), Buffer(initial));
    };
    std::vector<Request> started;
    {
      auto& [b, s] = two(poisoned<T>(n * size, r));
      started.push_back(iall_reduce(comm, in.const_span(), s.span(), Op{}));
      all_reduce(comm, in.const_span(), b.span(), Op{});
    }
    {
      auto& [b, s] = two(mine);
      started.push_back(iall_reduce(comm, s.span(), Op{}, algo::ring));
      all_reduce(comm, b.span(), Op{}, algo::ring);
    }
    {
      auto& [b, s] = two(poisoned<T>(n, r + 1));
      started.push_back(ireduce_scatter(comm, in.const_span(), s.span(), Op{}));
      reduce_scatter(comm, in.const_span(), b.span(), Op{});
    }
    {
      auto& [b, s] = two(poisoned<T>(counts[r], r + 2));
      started.push_back(ireduce_scatter_v(comm, in_total.const_span(), s.span(), cs, Op{}));
      reduce_scatter_v(comm, in_total.const_span(), b.span(), cs, Op{});
    }
    {
      auto& [b, s] = two(poisoned<T>(n, r + 3));
      started.push_back(ireduce(comm, in_block.const_span(), s.span(), root, Op{}));
      reduce(comm, in_block.const_span(), b.span(), root, Op{});
    }
    {
      auto& [b, s] = two(poisoned<T>(n * size, r + 4));
      started.push_back(iall_gather(comm, in_block.const_span(), s.span()));
      all_gather(comm, in_block.const_span(), b.span());
    }
    {
      std::vector<T> own = poisoned<T>(n * size, r + 5);
      std::copy_n(mine.begin(), n, own.begin() + static_cast<std::ptrdiff_t>(r * n));
      auto& [b, s] = two(own);
      started.push_back(iall_gather(comm, s.span()));
      all_gather(comm, b.span());
    }
    {
      auto& [b, s] = two(poisoned<T>(total, r + 6));
      started.push_back(iall_gather_v(comm, in_v.const_span(), s.span(), cs));
      all_gather_v(comm, in_v.const_span(), b.span(), cs);
    }
    {
      auto& [b, s] = two(r == static_cast<std::size_t>(root) ? first(n) : poisoned<T>(n, r + 7));
      started.push_back(ibroadcast(comm, s.span(), root));
      broadcast(comm, b.span(), root);
    }
    {
      auto& [b, s] = two(poisoned<T>(n, r + 8));
      started.push_back(iscatter(comm, in.const_span(), s.span(), root));
      scatter(comm, in.const_span(), b.span(), root);
    }
    {
      auto& [b, s] = two(poisoned<T>(counts[r], r + 9));
      started.push_back(iscatter_v(comm, in_total.const_span(), s.span(), cs, root));
      scatter_v(comm, in_total.const_span(), b.span(), cs, root);
    }
    {
      auto& [b, s] = two(poisoned<T>(n * size, r + 10));
      started.push_back(igather(comm, in_block.const_span(), s.span(), root));
      gather(comm, in_block.const_span(), b.span(), root);
    }
    {
      auto& [b, s] = two(poisoned<T>(total, r + 11));
      started.push_back(igather_v(comm, in_v.const_span(), s.span(), cs, root));
      gather_v(comm, in_v.const_span(), b.span(), cs, root);
    }
    for (Request& request : started) request.wait();
    int k = 0;
    for (const auto& [b, s] : pairs) {
      INFO("call ", k++, " of 13, rank ", r);
      CHECK(same_bits<T>(s.download(), b.download()));
    }
  });
}

template <class Mem>
void bad_arguments_case(Path path) {
  using Buffer = typename Mem::template Buffer<float>;
  INFO(name_of(path));
  launch_on(path, 2, [&](auto& comm) {
    Mem::setup();
    Buffer in(std::vector<float>(10, 1.0f)), out(std::vector<float>(9)),
        gathered(std::vector<float>(21));
    CHECK(error_kind([&] { all_reduce(comm, in.const_span(), out.span(), sum{}); }) ==
          ErrorKind::invalid_argument);
    CHECK(error_kind([&] { broadcast(comm, in.span(), 2); }) == ErrorKind::invalid_argument);
    CHECK(error_kind([&] { all_gather(comm, in.const_span(), gathered.span()); }) ==
          ErrorKind::invalid_argument);
  });
}

// Buffers in SimulatedDevice: host vectors behind unreadable "device" addresses.
struct SimulatedBuffers {
  static constexpr bool counts = true;
  static void setup() {}
  template <class T>
  struct Buffer {
    std::vector<T> host;
    explicit Buffer(std::vector<T> values) : host(std::move(values)) {}
    device_span<T, SimulatedDevice> span() { return SimulatedDevice::on_device(host); }
    device_span<const T, SimulatedDevice> const_span() const {
      return SimulatedDevice::on_device(host);
    }
    std::vector<T> download() const { return host; }
  };
};

}  // namespace colt::test
