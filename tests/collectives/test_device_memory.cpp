// The device-memory code path of every collective (collectives/device.hpp), run on the host
// through SimulatedDevice: in-process ranks take the native path (peers' buffers read through
// views, one fused reduction per call), ranks without views (CopyTransport) or with the checksum
// option take the staged path (pinned-host staging, all_reduce pipelined in chunks). Device
// pointers are unreadable addresses here, so any host access to them would crash the test.

#include <doctest/doctest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "colt/collectives/device.hpp"
#include "colt/transport/inprocess.hpp"
#include "copy_transport.hpp"
#include "matrix.hpp"
#include "random.hpp"
#include "ranks.hpp"
#include "reference.hpp"
#include "simulated_device.hpp"

using namespace colt;
using namespace colt::test;

namespace {

using Device = SimulatedDevice;
enum class Path { native, staged, checksummed };
const char* name_of(Path path) {
  return path == Path::native ? "native (views)" : path == Path::staged ? "staged (no views)" : "staged (checksum)";
}
constexpr Path all_paths[] = {Path::native, Path::staged, Path::checksummed};

// fn(comm) on `ranks` threads whose communicators take `path`.
template <class Fn>
void launch_on(Path path, int ranks, Fn&& fn) {
  if (path == Path::staged) return launch_copying(ranks, fn);
  inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
    if (path == Path::native) return fn(comm);
    Communicator<inprocess::InProcess> with_checksum(comm.transport(),
                                                     CommunicatorOptions{.timeout = comm.timeout(), .checksum = true});
    fn(with_checksum);
  });
}

// Values drawn for the op (prod: near 1), as the host collectives' tests draw them.
template <class T, class Op = sum>
std::vector<std::vector<T>> random_inputs(std::uint64_t seed, int ranks, std::size_t count) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<T>> inputs(static_cast<std::size_t>(ranks));
  for (auto& in : inputs) in = random_buffer<T, Op>(rng, count);
  return inputs;
}

// The rank-order fold the native path promises, bit for bit.
template <class T, class Op>
std::vector<T> rank_order_fold(const std::vector<std::vector<T>>& inputs, std::size_t offset, std::size_t count) {
  std::vector<T> out(count);
  std::vector<const T*> pointers;
  for (const auto& in : inputs) pointers.push_back(in.data() + offset);
  if (count) reduce_many(Op{}, out.data(), std::span<const T* const>(pointers), count, static_cast<int>(inputs.size()));
  return out;
}

template <class T, class Op>
void check_reduced(Path path, const std::vector<std::vector<T>>& inputs, std::span<const T> got,
                   std::size_t offset) {
  if (path == Path::native) {
    const auto expected = rank_order_fold<T, Op>(inputs, offset, got.size());
    CHECK_MESSAGE(same_bits<T>(got, expected), "not the rank-order fold");
  } else {
    const std::string wrong = Reference<T, Op>(inputs, offset, got.size()).check(got);
    CHECK_MESSAGE(wrong.empty(), wrong);
  }
}

template <class T, class Op>
void reducing_case(Path path, int p, std::size_t count, std::uint64_t seed) {
  INFO(name_of(path), ", ", p, " ranks, ", count, " elements, ", name_of(data_type_of<T>), " ", Op::name);
  const auto inputs = random_inputs<T, Op>(seed, p, count);
  const auto size = static_cast<std::size_t>(p);
  std::vector<std::vector<T>> all_out(size), in_place(size), scattered(size), reduced(size);
  std::vector<Device::Counters> seen(size);
  const std::size_t block = count / size;
  launch_on(path, p, [&](auto& comm) {
    const auto r = static_cast<std::size_t>(comm.rank());
    Device::counters() = {};
    all_out[r] = poisoned<T>(count, seed + r);
    all_reduce(comm, Device::on_device(inputs[r]), Device::on_device(all_out[r]), Op{});
    seen[r] = Device::counters();
    in_place[r] = inputs[r];
    all_reduce(comm, Device::on_device(in_place[r]), Op{}, algo::ring);
    std::vector<T> rs_in(inputs[r].begin(), inputs[r].begin() + static_cast<std::ptrdiff_t>(block * size));
    scattered[r] = poisoned<T>(block, seed + 7 * r);
    reduce_scatter(comm, Device::on_device(std::as_const(rs_in)), Device::on_device(scattered[r]), Op{});
    const int root = p - 1;
    reduced[r] = poisoned<T>(count, seed + 11 * r);
    reduce(comm, Device::on_device(inputs[r]), Device::on_device(reduced[r]), root, Op{});
  });
  for (std::size_t r = 0; r < size; ++r) {
    INFO("rank ", r);
    check_reduced<T, Op>(path, inputs, std::span<const T>(all_out[r]), 0);
    CHECK(same_bits<T>(all_out[r], all_out[0]));
    CHECK(same_bits<T>(in_place[r], in_place[0]));
    check_reduced<T, Op>(path, inputs, std::span<const T>(in_place[r]), 0);  // ring on the host when staged
    check_reduced<T, Op>(path, inputs, std::span<const T>(scattered[r]), r * block);
  }
  check_reduced<T, Op>(path, inputs, std::span<const T>(reduced[size - 1]), 0);
  // Which path ran: native reduces once per call, in one pass over all p inputs; staged never
  // reduces in the space, it stages.
  if (count > 0 && p > 1) {
    if (path == Path::native) {
      CHECK(seen[0].reductions == 1);
      CHECK(seen[0].reduced_inputs == p);
      CHECK(seen[0].stagings == 0);
    } else {
      CHECK(seen[0].reductions == 0);
      CHECK(seen[0].stagings > 0);
    }
  }
}

}  // namespace

TEST_CASE("device memory: all_reduce, reduce_scatter and reduce, every path x ranks 1..8 x type x op") {
  for (Path path : all_paths) {
    for (int p = 1; p <= 8; ++p) {
      for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
        for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
          for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{1009}})
            reducing_case<T, Op>(path, p, count, base_seed() + static_cast<std::uint64_t>(p) * 31 + count);
        });
      });
    }
  }
}

TEST_CASE("device memory: large counts (pipelined staging runs many chunks)") {
  for (Path path : all_paths) {
    reducing_case<float, sum>(path, 3, 100003, base_seed() + 5);
    reducing_case<bfloat16, avg>(path, 8, 100003, base_seed() + 6);
    reducing_case<std::int64_t, prod>(path, 5, 65537, base_seed() + 7);
  }
}

TEST_CASE("device memory: all_gather, broadcast, scatter, gather and their v forms, every path x ranks 1..8") {
  for (Path path : all_paths) {
    for (int p = 1; p <= 8; ++p) {
      for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{13}, std::size_t{1031}}) {
        INFO(name_of(path), ", ", p, " ranks, ", n, " elements per rank");
        using T = half;
        const auto size = static_cast<std::size_t>(p);
        const auto inputs = random_inputs<T>(base_seed() + n + size, p, n);
        std::vector<std::size_t> counts(size);
        for (std::size_t j = 0; j < size; ++j) counts[j] = (n * (j + 1)) % 17 + j % 2;
        std::vector<std::size_t> offsets(size + 1, 0);
        for (std::size_t j = 0; j < size; ++j) offsets[j + 1] = offsets[j] + counts[j];
        const std::size_t total = offsets[size];
        std::vector<T> concatenated;
        for (std::size_t j = 0; j < size; ++j) {
          concatenated.insert(concatenated.end(), inputs[j].begin(), inputs[j].end());
        }
        const int root = p / 2;
        const auto root_index = static_cast<std::size_t>(root);
        launch_on(path, p, [&](auto& comm) {
          const auto r = static_cast<std::size_t>(comm.rank());
          std::vector<T> gathered = poisoned<T>(n * size, r);
          all_gather(comm, Device::on_device(inputs[r]), Device::on_device(gathered));
          CHECK(same_bits<T>(gathered, concatenated));
          std::vector<T> in_place = poisoned<T>(n * size, r + 1);
          std::copy(inputs[r].begin(), inputs[r].end(), in_place.begin() + static_cast<std::ptrdiff_t>(r * n));
          all_gather(comm, Device::on_device(in_place));
          CHECK(same_bits<T>(in_place, concatenated));
          // v forms: rank j gives its first counts[j] elements (counts[j] may exceed n: use a copy).
          std::vector<T> mine(counts[r]);
          for (std::size_t i = 0; i < counts[r]; ++i) mine[i] = i < n ? inputs[r][i] : T(float(i));
          std::vector<T> expected_v;
          for (std::size_t j = 0; j < size; ++j)
            for (std::size_t i = 0; i < counts[j]; ++i) expected_v.push_back(i < n ? inputs[j][i] : T(float(i)));
          std::vector<T> gathered_v = poisoned<T>(total + 2, r + 2), tail(gathered_v.end() - 2, gathered_v.end());
          all_gather_v(comm, Device::on_device(std::as_const(mine)), Device::on_device(gathered_v), std::span<const std::size_t>(counts));
          CHECK(same_bits<T>(std::span<const T>(gathered_v).first(total), expected_v));
          CHECK(same_bits<T>(std::span<const T>(gathered_v).last(2), tail));  // past the sum: untouched
          std::vector<T> data = r == root_index ? inputs[r] : poisoned<T>(n, r + 3);
          broadcast(comm, Device::on_device(data), root);
          CHECK(same_bits<T>(data, inputs[root_index]));
          std::vector<T> part = poisoned<T>(n, r + 4);
          scatter(comm, Device::on_device(std::as_const(concatenated)), Device::on_device(part), root);
          CHECK(same_bits<T>(part, inputs[r]));
          std::vector<T> part_v = poisoned<T>(counts[r], r + 5);
          scatter_v(comm, Device::on_device(std::as_const(expected_v)), Device::on_device(part_v), std::span<const std::size_t>(counts), root);
          CHECK(same_bits<T>(part_v, mine));
          std::vector<T> at_root = poisoned<T>(n * size, r + 6);
          gather(comm, Device::on_device(inputs[r]), Device::on_device(at_root), root);
          if (r == root_index) CHECK(same_bits<T>(at_root, concatenated));
          std::vector<T> at_root_v = poisoned<T>(total, r + 7);
          gather_v(comm, Device::on_device(std::as_const(mine)), Device::on_device(at_root_v), std::span<const std::size_t>(counts), root);
          if (r == root_index) CHECK(same_bits<T>(at_root_v, expected_v));
        });
      }
    }
  }
}

TEST_CASE("device memory: bad arguments raise colt::Error on every path") {
  for (Path path : all_paths) {
    INFO(name_of(path));
    launch_on(path, 2, [&](auto& comm) {
      std::vector<float> in(10, 1.0f), out(9);
      CHECK_THROWS_WITH_AS(all_reduce(comm, Device::on_device(std::as_const(in)), Device::on_device(out), sum{}),
                           doctest::Contains("expected 10"), Error);
      CHECK_THROWS_WITH_AS(broadcast(comm, Device::on_device(in), 2), doctest::Contains("root 2 is out of range"), Error);
      std::vector<float> gathered(21);
      CHECK_THROWS_WITH_AS(all_gather(comm, Device::on_device(std::as_const(in)), Device::on_device(gathered)),
                           doctest::Contains("expected 20"), Error);
    });
  }
}
