// The device-memory code path of every collective (collectives/device.hpp), run on the host
// through SimulatedDevice (tests/support/simulated_device.hpp): device pointers are unreadable
// addresses there, so any host access to them would crash the test. The cases are shared with
// the GPU test (tests/support/device_collective_cases.hpp).

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "device_collective_cases.hpp"

using namespace colt;
using namespace colt::test;

// One type per element size: what the device paths add to the host collectives (staging,
// chunking, the device reduction's dispatch) depends on the element's size, not on which of two
// same-sized types it is. The host suites run every type through the same schedules, and
// tests/gpu/test_kernels.cu every type through the device reductions. This was the largest
// program of the README build with all six types (120 CPU-s).
TEST_CASE(
    "device memory: all_reduce, reduce_scatter and reduce, every path x ranks 1..8 x type size x "
    "op") {
  for (Path path : all_paths)
    for (int p = 1; p <= 8; ++p)
      for_each(per_size_types{}, [&]<class T>(std::type_identity<T>) {
        for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
          for (std::size_t count : {0, 1, 3, 1009})
            reducing_case<SimulatedBuffers, T, Op>(
                path, p, count, base_seed() + static_cast<std::uint64_t>(p) * 31 + count);
        });
      });
}

TEST_CASE("device memory: large counts (the pipelined staging runs many chunks)") {
  for (Path path : all_paths) {
    reducing_case<SimulatedBuffers, float, sum>(path, 3, 100003, base_seed() + 5);
    reducing_case<SimulatedBuffers, bfloat16, avg>(path, 8, 100003, base_seed() + 6);
    reducing_case<SimulatedBuffers, std::int64_t, prod>(path, 5, 65537, base_seed() + 7);
  }
}

TEST_CASE(
    "device memory: all_gather, broadcast, scatter, gather and their v forms, every path x ranks "
    "1..8") {
  for (Path path : all_paths)
    for (int p = 1; p <= 8; ++p)
      for (std::size_t n : {0, 1, 13, 1031}) moving_case<SimulatedBuffers, half>(path, p, n);
}

TEST_CASE("device memory: every started form equals its blocking form, every path") {
  for (Path path : all_paths)
    for (int p : {1, 2, 3, 5}) {
      // One instantiation (a started form wraps the blocking body, whatever the type): a small
      // call, and one whose staged all_reduce runs in many chunks.
      for (std::size_t n : {std::size_t{37}, 1 + std::size_t{5000} / static_cast<std::size_t>(p)})
        started_case<SimulatedBuffers, float, sum>(path, p, n, base_seed() + 41 + n);
    }
}

// docs/nonblocking.md: a blocking call keeps its place behind the calls started before it on
// its communicator. Rank 1 joins late, so rank 0's started all_reduce (large: it takes a while
// once rank 1 is there) is still running when rank 0 calls the blocking device all_reduce. That
// call must not run beside it: when it returns, the started call has finished.
TEST_CASE("device memory: a blocking device call waits for the calls started before it") {
  for (Path path : all_paths) {
    INFO(std::string(name_of(path)));
    std::vector<int> started_done(2, -1);
    launch_on(path, 2, [&](auto& comm) {
      const auto r = static_cast<std::size_t>(comm.rank());
      std::vector<float> host(std::size_t{1} << 22, 1.0f + static_cast<float>(r));
      std::vector<float> small(1000, 2.0f);
      if (r == 1) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      Request started = iall_reduce(comm, host, sum{});
      all_reduce(comm, SimulatedDevice::on_device(small), sum{});
      started_done[r] = started.test() ? 1 : 0;
      started.wait();
      CHECK(host.front() == 3.0f);
      CHECK(host.back() == 3.0f);
      CHECK(small.front() == 4.0f);
    });
    CHECK(started_done[0] == 1);
    CHECK(started_done[1] == 1);
  }
}

// The stream is typed: a cudaStream_t (here nullptr, the default stream) or a colt::DeviceStream,
// never any pointer; the algorithm and the stream may come in either order, or not at all.
template <class... Args>
concept DeviceAllReduceTakes = requires(inprocess::Communicator& comm,
                                        device_span<float, SimulatedDevice> data, Args... args) {
  all_reduce(comm, data, sum{}, args...);
  iall_reduce(comm, data, sum{}, args...);
};
static_assert(DeviceAllReduceTakes<>);
static_assert(DeviceAllReduceTakes<DeviceStream>);
static_assert(DeviceAllReduceTakes<std::nullptr_t>);
static_assert(DeviceAllReduceTakes<Algorithm>);
static_assert(DeviceAllReduceTakes<Algorithm, DeviceStream>);
static_assert(DeviceAllReduceTakes<DeviceStream, Algorithm>);
static_assert(!DeviceAllReduceTakes<void*>);
static_assert(!DeviceAllReduceTakes<int>);
static_assert(!DeviceAllReduceTakes<DeviceStream, DeviceStream>);

TEST_CASE("device memory: bad arguments raise colt::Error on every path") {
  for (Path path : all_paths) bad_arguments_case<SimulatedBuffers>(path);
}

namespace {
// A device space whose reduction fails the way a CUDA call does: colt::Error with no rank.
struct FailingDevice : SimulatedDevice {
  using SimulatedDevice::SimulatedDevice;
  template <class Op, class T>
  void reduce(Op, T*, std::span<const T* const>, std::size_t, int) {
    throw Error(ErrorKind::transport, Operation::cuda, Error::no_rank,
                "cudaStreamSynchronize: cudaErrorIllegalAddress (an illegal memory access)");
  }
};
}  // namespace

TEST_CASE("device memory: a failure in the memory space names the collective and the rank") {
  inprocess::launch(2, [](inprocess::Communicator& comm) {
    std::vector<float> data(100, 1.0f);
    device_span<float, FailingDevice> span(SimulatedDevice::to_device(data.data()), data.size());
    try {
      all_reduce(comm, span, sum{});
      FAIL("no error");
    } catch (const Error& e) {
      // Each rank's device fails; a rank whose peer failed first is aborted by it, with the
      // peer's error as the cause.
      CHECK((e.kind() == ErrorKind::transport || e.kind() == ErrorKind::aborted));
      CHECK(e.collective() == "all_reduce");
      CHECK(e.rank() == comm.rank());
      CHECK(e.cause().find("cuda: cudaStreamSynchronize: cudaErrorIllegalAddress") !=
            std::string::npos);
    }
    CHECK(comm.broken());
  });
}
