// The CUDA reduce kernels against the memory ceiling, and all_reduce on 8 ranks sharing one GPU.
// Rows, per element type (float, bf16, half) and buffer size (1 MiB .. 1 GiB per buffer):
//   reduce2   colt::cuda::reduce, out = a + b                        3N bytes moved
//   copy      cudaMemcpyAsync device to device, the ceiling          2N bytes moved
//   thrust    thrust::transform doing colt's arithmetic              3N bytes moved
//   chained7  seven reduce calls folding 8 inputs, out = out + in_k  21N bytes moved
//   fused8    colt::cuda::reduce_many over the same 8 inputs         9N bytes moved
// then all_reduce_8ranks (256 MiB float, in-process ranks, one GPU) with nccl-tests' algbw and
// busbw, and its time against the floor the copy ceiling sets. A summary table follows.
//
//   nvcc -std=c++20 -I include -I kernels -gencode arch=compute_90,code=sm_90
//        benchmarks/gpu_reduce.cu -o gpu_reduce -lbenchmark -lpthread
//   ./gpu_reduce [--benchmark_filter=fused8] [--benchmark_min_time=0.2]
//
// Times are CUDA event times (manual time); GB/s = 1e9 bytes/s from the median sample of a row.
// The 1 and 4 MiB rows fit in L2 (about 50 MiB on H100/H200), so they measure L2, not HBM,
// for every row alike: compare rows of one size, not sizes.

#include <benchmark/benchmark.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <thrust/execution_policy.h>
#include <thrust/transform.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "colt/collectives/barrier.hpp"
#include "colt/core/bfloat16.hpp"
#include "colt/core/half.hpp"
#include "colt/core/ops.hpp"
#include "colt/cuda/collectives.cuh"
#include "colt/transport/inprocess.hpp"

namespace {

using colt::cuda::check;
constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
const std::size_t buffer_sizes[] = {1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB, 256 * MiB, 1024 * MiB};
// Small sizes are timed in batches of launches moving at least this much, so the event and
// launch overhead (microseconds) is not charged to a kernel that takes about as long.
constexpr double bytes_per_sample = 256.0 * MiB;

template <class T>
constexpr int type_order = 0;
template <>
constexpr int type_order<colt::bfloat16> = 1;
template <>
constexpr int type_order<colt::half> = 2;
const char* const type_names[] = {"float", "bf16", "half"};

std::string size_name(std::size_t bytes) {
  return bytes >= 1024 * MiB ? std::to_string(bytes / (1024 * MiB)) + "GiB"
                             : std::to_string(bytes / MiB) + "MiB";
}

// ---- device memory, streams and events, freed on every path (rows may throw) ----
struct CudaFree {
  void operator()(std::byte* p) const { (void)cudaFree(p); }
};
using DeviceMemory = std::unique_ptr<std::byte, CudaFree>;
DeviceMemory allocate(std::size_t bytes) {
  void* p = nullptr;
  check(cudaMalloc(&p, bytes), "cudaMalloc (" + size_name(bytes) + ")");
  return DeviceMemory(static_cast<std::byte*>(p));
}

struct Stream {
  cudaStream_t handle = nullptr;
  Stream() { check(cudaStreamCreateWithFlags(&handle, cudaStreamNonBlocking), "cudaStreamCreate"); }
  ~Stream() { (void)cudaStreamDestroy(handle); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
};

struct Event {
  cudaEvent_t handle = nullptr;
  Event() { check(cudaEventCreate(&handle), "cudaEventCreate"); }
  ~Event() { (void)cudaEventDestroy(handle); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};

// Pseudo-random values of magnitude [0.25, 1) and random sign: never zero, so no row can be
// sped up by zero pages or trivial arithmetic, and 8 of them sum far from overflow in half.
template <class T>
__global__ void fill_pseudo_random(T* data, std::size_t count, std::uint64_t seed) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    std::uint64_t h =
        (i + 1) * 0x9E3779B97F4A7C15ull ^ seed * 0xBF58476D1CE4E5B9ull;  // splitmix64 finaliser
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    h ^= h >> 31;
    const float magnitude = 0.25f + 0.75f * static_cast<float>(h >> 40) / 16777216.0f;
    data[i] = colt::cuda::from_compute<T>((h & 1) ? -magnitude : magnitude);
  }
}

template <class T>
void fill(T* data, std::size_t count, std::uint64_t seed, cudaStream_t stream) {
  fill_pseudo_random<T><<<1024, 256, 0, stream>>>(data, count, seed);
  colt::cuda::check_launch("fill_pseudo_random");
}

// The buffers of one (type, size), kept across its rows so each is allocated and filled once;
// rows of the next (type, size) free them first (rows run in registration order).
class BufferCache {
 public:
  template <class T>
  std::vector<T*> get(std::size_t bytes, std::size_t count, cudaStream_t stream) {
    if (type_ != type_order<T> || bytes_ != bytes) release();
    type_ = type_order<T>;
    bytes_ = bytes;
    while (buffers_.size() < count) {
      buffers_.push_back(allocate(bytes));
      fill(reinterpret_cast<T*>(buffers_.back().get()), bytes / sizeof(T), buffers_.size(), stream);
    }
    check(cudaStreamSynchronize(stream), "filling buffers");
    std::vector<T*> out;
    for (std::size_t i = 0; i < count; ++i) out.push_back(reinterpret_cast<T*>(buffers_[i].get()));
    return out;
  }
  void release() {
    buffers_.clear();
    type_ = -1;
  }

 private:
  std::vector<DeviceMemory> buffers_;
  int type_ = -1;
  std::size_t bytes_ = 0;
};

// Median seconds per operation of each row that ran (NaN where it did not).
struct RowTimes {
  double reduce2 = nan, copy = nan, thrust = nan, chained7 = nan, fused8 = nan;
};
struct AllReduceResult {
  double seconds = nan, algbw = nan, busbw = nan, floor_ratio = nan;
};

struct Session {
  Stream stream;
  BufferCache buffers;
  std::map<std::pair<int, std::size_t>, RowTimes> rows;  // (type_order, bytes per buffer)
  AllReduceResult all_reduce;
};

double median(std::vector<double> samples) {
  if (samples.empty()) return nan;
  const auto mid = samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2);
  std::nth_element(samples.begin(), mid, samples.end());
  return *mid;
}

// A row's body, with any colt::Error or CUDA failure reported on the row instead of ending the run.
template <class Body>
void guarded(benchmark::State& state, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// Times `enqueue` (work queued on `stream`) with CUDA events; returns the median seconds per
// call and reports GB/s from it.
template <class Enqueue>
double time_per_call(benchmark::State& state, cudaStream_t stream, double bytes_per_call,
                     Enqueue&& enqueue) {
  const int calls_per_sample =
      static_cast<int>(std::clamp(std::ceil(bytes_per_sample / bytes_per_call), 1.0, 1000.0));
  Event start, stop;
  enqueue();  // warm-up: the first launch of a kernel loads its module
  check(cudaStreamSynchronize(stream), "warm-up");
  std::vector<double> samples;
  for (auto _ : state) {
    check(cudaEventRecord(start.handle, stream), "cudaEventRecord");
    for (int i = 0; i < calls_per_sample; ++i) enqueue();
    check(cudaEventRecord(stop.handle, stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop.handle), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start.handle, stop.handle), "cudaEventElapsedTime");
    samples.push_back(static_cast<double>(ms) * 1e-3 / calls_per_sample);
    state.SetIterationTime(samples.back());
  }
  const double seconds = median(samples);
  state.counters["GB/s"] = bytes_per_call / seconds / 1e9;
  return seconds;
}

// CUDA's type for a colt element (same bits), and the thrust functor doing colt's arithmetic:
// the 16-bit types widen to float, add, and round once to nearest even.
template <class T>
struct cuda_type {
  using type = T;
};
template <>
struct cuda_type<colt::bfloat16> {
  using type = __nv_bfloat16;
};
template <>
struct cuda_type<colt::half> {
  using type = __half;
};

struct AddAsColtDoes {
  __device__ float operator()(float a, float b) const { return a + b; }
  __device__ __nv_bfloat16 operator()(__nv_bfloat16 a, __nv_bfloat16 b) const {
    return __float2bfloat16_rn(__bfloat162float(a) + __bfloat162float(b));
  }
  __device__ __half operator()(__half a, __half b) const {
    return __float2half_rn(__half2float(a) + __half2float(b));
  }
};

template <class T>
void register_type_rows(Session& session, std::size_t free_bytes) {
  using Cuda = typename cuda_type<T>::type;
  for (const std::size_t bytes : buffer_sizes) {
    const std::size_t n = bytes / sizeof(T);
    const double N = static_cast<double>(bytes);
    RowTimes& times = session.rows[{type_order<T>, bytes}];
    const std::string suffix =
        std::string("/") + type_names[type_order<T>] + "/" + size_name(bytes);
    const cudaStream_t stream = session.stream.handle;
    auto add = [&](const std::string& name, auto body) {
      benchmark::RegisterBenchmark(
          name.c_str(), [body](benchmark::State& state) { guarded(state, [&] { body(state); }); })
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    };
    add("reduce2" + suffix, [&session, &times, stream, bytes, n, N](benchmark::State& state) {
      const std::vector<T*> b = session.buffers.get<T>(bytes, 3, stream);
      times.reduce2 = time_per_call(state, stream, 3 * N, [&] {
        colt::cuda::reduce(colt::sum{}, b[0], b[1], b[2], n, stream);
      });
    });
    add("copy" + suffix, [&session, &times, stream, bytes](benchmark::State& state) {
      const std::vector<T*> b = session.buffers.get<T>(bytes, 2, stream);
      times.copy = time_per_call(state, stream, 2.0 * static_cast<double>(bytes), [&] {
        check(cudaMemcpyAsync(b[0], b[1], bytes, cudaMemcpyDeviceToDevice, stream),
              "cudaMemcpyAsync");
      });
    });
    // par_nosync, not par: par synchronises the stream after every call, which would charge
    // thrust a host round trip per launch that colt's rows do not pay.
    add("thrust" + suffix, [&session, &times, stream, bytes, n, N](benchmark::State& state) {
      const std::vector<T*> b = session.buffers.get<T>(bytes, 3, stream);
      auto* out = reinterpret_cast<Cuda*>(b[0]);
      const auto* x = reinterpret_cast<const Cuda*>(b[1]);
      const auto* y = reinterpret_cast<const Cuda*>(b[2]);
      times.thrust = time_per_call(state, stream, 3 * N, [&] {
        thrust::transform(thrust::cuda::par_nosync.on(stream), x, x + n, y, out, AddAsColtDoes{});
        colt::cuda::check_launch("thrust::transform");
      });
    });
    // fused8 and chained7 need 9 buffers; the cache frees the previous size's first.
    if (9 * bytes + 512 * MiB > free_bytes) {
      std::printf("gpu_reduce: note: fused8/chained7%s skipped: 9 x %s buffers, %.1f GiB free\n",
                  suffix.c_str(), size_name(bytes).c_str(),
                  static_cast<double>(free_bytes) / (1024.0 * MiB));
      continue;
    }
    // Each chained call reads two buffers and writes one: 7 x 3N bytes.
    add("chained7" + suffix, [&session, &times, stream, bytes, n, N](benchmark::State& state) {
      const std::vector<T*> b =
          session.buffers.get<T>(bytes, 9, stream);  // b[0] = out, b[1..8] inputs
      times.chained7 = time_per_call(state, stream, 21 * N, [&] {
        colt::cuda::reduce(colt::sum{}, b[0], b[1], b[2], n, stream);
        for (int k = 3; k <= 8; ++k) colt::cuda::reduce(colt::sum{}, b[0], b[0], b[k], n, stream);
      });
    });
    add("fused8" + suffix, [&session, &times, stream, bytes, n, N](benchmark::State& state) {
      const std::vector<T*> b = session.buffers.get<T>(bytes, 9, stream);
      const std::vector<const T*> inputs(b.begin() + 1, b.end());
      times.fused8 = time_per_call(state, stream, 9 * N, [&] {
        colt::cuda::reduce_many(colt::sum{}, b[0], std::span<const T* const>(inputs), n, stream);
      });
      if (!std::isnan(times.chained7))
        state.counters["speedup_vs_chained"] = times.chained7 / times.fused8;
    });
  }
}

// ---- all_reduce: 8 in-process ranks, one GPU, 256 MiB of float each ----
constexpr int all_reduce_ranks = 8;
constexpr std::size_t all_reduce_bytes = 256 * MiB;
constexpr int all_reduce_timed_calls = 5;

// Bytes the direct algorithm moves in device memory, all ranks together: per rank the
// reduce-scatter reads p slices of S/p and writes S/p, the all-gather reads and writes
// (p-1)/p of S. All 8 ranks share one GPU's memory, so they add up.
double direct_all_reduce_bytes(double S, int p) {
  return p * (S / p * (p + 1) + 2 * S * (p - 1) / p);
}

void all_reduce_row(benchmark::State& state, Session& session) {
  session.buffers.release();  // the ranks' 2 x 8 buffers need the room
  constexpr std::size_t count = all_reduce_bytes / sizeof(float);
  AllReduceResult& result = session.all_reduce;
  for (auto _ : state) {
    std::vector<double> rank0_seconds;
    colt::inprocess::launch(all_reduce_ranks, [&](colt::inprocess::Communicator& comm) {
      check(cudaSetDevice(0), "cudaSetDevice");  // the current device is per thread
      Stream stream;
      DeviceMemory in = allocate(all_reduce_bytes), out = allocate(all_reduce_bytes);
      auto* in_floats = reinterpret_cast<float*>(in.get());
      fill(in_floats, count, 1000 + static_cast<std::uint64_t>(comm.rank()), stream.handle);
      check(cudaStreamSynchronize(stream.handle), "filling all_reduce input");
      auto call = [&] {
        colt::all_reduce(comm, colt::device_span<const float>(in_floats, count),
                         colt::device_span<float>(reinterpret_cast<float*>(out.get()), count),
                         colt::sum{}, stream.handle);
      };
      call();  // warm-up
      for (int i = 0; i < all_reduce_timed_calls; ++i) {
        colt::barrier(comm);  // every rank starts together, so rank 0 times the whole collective
        const auto start = std::chrono::steady_clock::now();
        call();  // synchronous: returns when this rank's result is in place
        const auto stop = std::chrono::steady_clock::now();
        if (comm.rank() == 0)
          rank0_seconds.push_back(std::chrono::duration<double>(stop - start).count());
      }
      colt::barrier(comm);  // no rank frees a buffer a peer may still read
    });
    result.seconds = median(rank0_seconds);
    state.SetIterationTime(result.seconds);
  }
  const double S = static_cast<double>(all_reduce_bytes);
  const int p = all_reduce_ranks;
  result.algbw = S / result.seconds / 1e9;
  result.busbw = result.algbw * 2.0 * (p - 1) / p;
  state.counters["algbw_GB/s"] = result.algbw;
  state.counters["busbw_GB/s"] = result.busbw;
  // The floor: those bytes at the copy row's bandwidth (256 MiB float, measured above).
  const double copy_seconds = session.rows[{type_order<float>, all_reduce_bytes}].copy;
  if (!std::isnan(copy_seconds)) {
    const double copy_bytes_per_second = 2 * S / copy_seconds;
    result.floor_ratio = direct_all_reduce_bytes(S, p) / copy_bytes_per_second / result.seconds;
    state.counters["floor_ratio"] = result.floor_ratio;
  }
}

void print_summary(const Session& session) {
  std::printf("\ngpu_reduce summary (median per row; GB/s = 1e9 bytes/s; '-' = row did not run)\n");
  std::printf("%-6s %-7s %10s %10s %13s %10s %15s %18s\n", "type", "size", "reduce2", "copy",
              "reduce2/copy", "thrust", "reduce2/thrust", "fused8_vs_chain7");
  auto gbps = [](double bytes, double seconds) { return bytes / seconds / 1e9; };
  // One column: the value with `decimals` digits and `suffix`, or "-" where a row did not run.
  auto cell = [](double value, int decimals, const char* suffix = "") {
    if (std::isnan(value)) return std::string("-");
    char text[32];
    std::snprintf(text, sizeof text, "%.*f%s", decimals, value, suffix);
    return std::string(text);
  };
  for (const auto& [key, t] : session.rows) {
    const double N = static_cast<double>(key.second);
    const double reduce2 = gbps(3 * N, t.reduce2), copy = gbps(2 * N, t.copy),
                 thrust = gbps(3 * N, t.thrust);
    std::printf("%-6s %-7s %10s %10s %13s %10s %15s %18s\n", type_names[key.first],
                size_name(key.second).c_str(), cell(reduce2, 1).c_str(), cell(copy, 1).c_str(),
                cell(100 * reduce2 / copy, 1, "%").c_str(), cell(thrust, 1).c_str(),
                cell(reduce2 / thrust, 3).c_str(), cell(t.chained7 / t.fused8, 2, "x").c_str());
  }
  const AllReduceResult& a = session.all_reduce;
  if (!std::isnan(a.seconds))
    std::printf(
        "all_reduce %d ranks, one GPU, float %s: %.3f ms, algbw %.1f GB/s, busbw %.1f GB/s, "
        "floor_ratio %.3f\n",
        all_reduce_ranks, size_name(all_reduce_bytes).c_str(), a.seconds * 1e3, a.algbw, a.busbw,
        a.floor_ratio);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--help") {  // before the device probe: works anywhere
      std::printf(
          "usage: gpu_reduce [--benchmark_* flags]\n"
          "  rows per type (float, bfloat16, half) and size (1 MiB .. 1 GiB per buffer):\n"
          "  reduce2, copy, thrust, chained7, fused8; then all_reduce_8ranks (256 MiB float)\n"
          "  Google Benchmark's flags work as usual (--benchmark_filter=fused8, ...);\n"
          "  without a CUDA device it prints SKIPPED and exits 0\n");
      return 0;
    }
  if (colt::cuda::device_count() == 0) {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    (void)cudaGetLastError();
    std::printf(
        "gpu_reduce: SKIPPED: no CUDA device (%s%s%s)\n",
        status == cudaSuccess ? "cudaGetDeviceCount found 0 devices" : cudaGetErrorName(status),
        status == cudaSuccess ? "" : ": ", status == cudaSuccess ? "" : cudaGetErrorString(status));
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    check(cudaSetDevice(0), "cudaSetDevice");
    Session session;
    std::size_t free_bytes = 0, total_bytes = 0;
    check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    register_type_rows<float>(session, free_bytes);
    register_type_rows<colt::bfloat16>(session, free_bytes);
    register_type_rows<colt::half>(session, free_bytes);
    // Registered last: its floor needs the 256 MiB float copy row's result.
    benchmark::RegisterBenchmark(("all_reduce_8ranks/float/" + size_name(all_reduce_bytes)).c_str(),
                                 [&session](benchmark::State& state) {
                                   guarded(state, [&] { all_reduce_row(state, session); });
                                 })
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RunSpecifiedBenchmarks();
    print_summary(session);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_reduce: %s\n", e.what());
    benchmark::Shutdown();
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
