// The fused reduce kernel (kernels/colt/cuda/reduce.cuh) on a GPU against colt::reduce_many on the
// host, bit for bit: every type, op, k up to 16, counts 0, 1, 3, 17, 1000 and 1000003, outputs at
// misaligned offsets and inputs aligned alike or not, the output poisoned and guarded on both
// sides so unwritten and overwritten elements both show. Run under compute-sanitizer (memcheck,
// racecheck) on the GPU machine; see docs/gpu.md.

#include <cstdint>
#include <span>
#include <vector>

#include "colt/cuda/reduce.cuh"
#include "device_buffer.hpp"
#include "gpu_main.hpp"
#include "matrix.hpp"
#include "reduce_cases.hpp"
#include "errors.hpp"

using namespace colt;
using namespace colt::test;

namespace {

template <class T, class Op>
void check_case(const ReduceCase& c, std::uint64_t seed, cudaStream_t stream) {
  INFO(describe(c), ", ", name_of(data_type_of<T>), " ", Op::name);
  auto inputs = make_inputs<T, Op>(c, seed);
  std::mt19937_64 rng(seed);
  Guarded<T> out(random_buffer<T>(rng, c.count), c.out_offset, seed + 1);
  const auto expected = expected_storage<T, Op>(out, inputs, c.count, c.inputs);
  DeviceBuffer<T> device_out(out.storage);
  std::vector<std::unique_ptr<DeviceBuffer<T>>> device_inputs;
  std::vector<const T*> pointers;
  for (const auto& in : inputs) {
    device_inputs.push_back(std::make_unique<DeviceBuffer<T>>(in.storage));
    pointers.push_back(device_inputs.back()->data() + Guarded<T>::guard + in.offset);
  }
  T* result = device_out.data() + Guarded<T>::guard + out.offset;
  cuda::reduce_many(Op{}, result, std::span<const T* const>(pointers), c.count, stream);
  cuda::check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  CHECK(same_bits<T>(device_out.download(), expected));
}

}  // namespace

TEST_CASE("kernels: every type x op x k x count x alignment against the host, bit for bit") {
  cudaStream_t stream = nullptr;
  cuda::check(cudaStreamCreate(&stream), "cudaStreamCreate");
  std::uint64_t seed = base_seed();
  for_each(every_type{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for (const ReduceCase& c : small_reduce_cases()) check_case<T, Op>(c, ++seed, stream);
      for (int k : {2, 8}) check_case<T, Op>({k, 1000003, 3, true}, ++seed, stream);
      check_case<T, Op>({3, 1000003, 1, false}, ++seed, stream);
    });
  });
  cuda::check(cudaStreamDestroy(stream), "cudaStreamDestroy");
}

TEST_CASE("kernels: __half and __nv_bfloat16 pointers reduce as colt::half and colt::bfloat16") {
  std::mt19937_64 rng(base_seed());
  const std::size_t n = 4099;
  auto a = random_buffer<colt::half>(rng, n), b = random_buffer<colt::half>(rng, n);
  std::vector<colt::half> expected(n);
  const colt::half* pair[] = {a.data(), b.data()};
  reduce_many(avg{}, expected.data(), std::span<const colt::half* const>(pair), n, 2);
  DeviceBuffer<colt::half> da(a), db(b), dout(n);
  cuda::reduce(avg{}, reinterpret_cast<__half*>(dout.data()),
               reinterpret_cast<const __half*>(da.data()),
               reinterpret_cast<const __half*>(db.data()), n);
  cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  CHECK(same_bits<colt::half>(dout.download(), expected));
}

TEST_CASE("kernels: bad arguments are colt::Error") {
  float* p = nullptr;
  const float* none[] = {p};
  CHECK(error_kind([&] {
          cuda::reduce_many(sum{}, p, std::span<const float* const>(none, 0), 10);
        }) == ErrorKind::invalid_argument);
  CHECK(error_kind([&] { cuda::reduce_many(sum{}, p, std::span<const float* const>(none), 10); }) ==
        ErrorKind::invalid_argument);
  std::vector<const float*> many(17, reinterpret_cast<const float*>(16));
  CHECK(error_kind([&] { cuda::reduce_many(sum{}, p, std::span<const float* const>(many), 10); }) ==
        ErrorKind::invalid_argument);
}

int main(int argc, char** argv) { return run_gpu_tests("gpu/kernels", argc, argv); }
