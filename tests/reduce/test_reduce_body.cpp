// The fused reduce kernel's per-thread body (kernels/colt/cuda/reduce_body.hpp), run on the host
// over every thread index of a grid in turn: the split into head, 16-byte packs and tail, the
// unrolled trips, avg's final division and the once-only rounding of the 16-bit types are checked
// on machines without a GPU. tests/gpu/test_kernels.cu runs the same cases on a GPU.

#include <doctest/doctest.h>

#include "colt/cuda/reduce_body.hpp"
#include "matrix.hpp"
#include "reduce_cases.hpp"

using namespace colt;
using namespace colt::test;

namespace {

template <class T, class Op>
void check_case(const ReduceCase& c, std::size_t threads, std::uint64_t seed) {
  INFO(describe(c), ", ", threads, " threads, ", name_of(data_type_of<T>), " ", Op::name);
  auto inputs = make_inputs<T, Op>(c, seed);
  std::mt19937_64 rng(seed);
  Guarded<T> out(random_buffer<T>(rng, c.count), c.out_offset, seed + 1);  // poisoned
  const auto expected = expected_storage<T, Op>(out, inputs, c.count, c.inputs);
  cuda::ReduceArgs<T> args;
  args.out = out.data();
  for (int j = 0; j < c.inputs; ++j) args.in[j] = inputs[static_cast<std::size_t>(j)].data();
  args.inputs = c.inputs;
  args.count = c.count;
  args.ranks = c.inputs;
  cuda::plan_packs(args);
  if (c.inputs_aligned_like_out && c.count >= 2 * cuda::Pack<T>::size) CHECK(args.packs > 0);
  if (!c.inputs_aligned_like_out && c.inputs > 1) CHECK(args.packs == 0);
  for (std::size_t thread = 0; thread < threads; ++thread)
    cuda::reduce_range(Op{}, args, thread, threads);
  CHECK(same_bits<T>(out.storage, expected));
}

}  // namespace

TEST_CASE("reduce body: every type x op x k x count x alignment, on 1, 7 and 64 threads") {
  std::uint64_t seed = base_seed();
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for (const ReduceCase& c : small_reduce_cases())
        for (std::size_t threads : {1, 7, 64}) check_case<T, Op>(c, threads, ++seed);
    });
  });
}

TEST_CASE("reduce body: a large count (1000003) and in place (out is input 0)") {
  check_case<float, sum>({8, 1000003, 0, true}, 1000, base_seed() + 1);
  check_case<bfloat16, avg>({3, 1000003, 5, true}, 333, base_seed() + 2);
  check_case<half, max>({2, 1000003, 2, false}, 512, base_seed() + 3);
  std::mt19937_64 rng(base_seed() + 4);
  std::vector<half> a = random_buffer<half>(rng, 1001), b = random_buffer<half>(rng, 1001),
                    expected(1001);
  const half* pair[] = {a.data(), b.data()};
  reduce_many(sum{}, expected.data(), std::span<const half* const>(pair), a.size(), 2);
  cuda::ReduceArgs<half> args;
  args.out = a.data();
  args.in[0] = a.data();
  args.in[1] = b.data();
  args.inputs = 2;
  args.count = a.size();
  args.ranks = 2;
  cuda::plan_packs(args);
  for (std::size_t thread = 0; thread < 32; ++thread) cuda::reduce_range(sum{}, args, thread, 32);
  CHECK(same_bits<half>(a, expected));
}
