#pragma once
// The one piece of arithmetic the model-parallel adapters ask of the caller: a row-major matrix
// product, described the way BLAS's gemm takes it, so a user can hand it to cblas_sgemm, cuBLAS,
// Eigen or a plain loop. The adapters own no tensors and no matmul; they only decide which
// product to ask for and which collective joins the ranks' parts.
//
//   C (m x n)  =  op(A) (m x k)  *  op(B) (k x n)   [ + C when accumulate ]
//
// op(A) is A, or A's transpose when transpose_a (then A is stored k x m). Leading dimensions
// are row strides in elements. k may be 0: C is then zero (or left as is when accumulating).

#include <concepts>
#include <cstddef>

namespace colt {

template <class T>
struct Gemm {
  bool transpose_a = false;
  bool transpose_b = false;
  std::size_t m = 0;
  std::size_t n = 0;
  std::size_t k = 0;
  const T* a = nullptr;
  std::size_t lda = 0;
  const T* b = nullptr;
  std::size_t ldb = 0;
  T* c = nullptr;
  std::size_t ldc = 0;
  bool accumulate = false;
};

template <class F, class T>
concept GemmFunction = std::invocable<F&, const Gemm<T>&>;

}  // namespace colt
