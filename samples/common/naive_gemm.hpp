#pragma once
// A plain-loop colt::Gemm for the samples and tests: no BLAS needed. The innermost loop always
// walks contiguous rows (i-k-j, or dot products of rows when B is transposed), which GCC vectorises
// at -O3.

#include <algorithm>
#include <cstddef>

#include "colt/adapters/gemm.hpp"

namespace samples {

template <class T>
void naive_gemm(const colt::Gemm<T>& g) {
  auto a_at = [&](std::size_t i, std::size_t p) {
    return g.transpose_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
  };
  for (std::size_t i = 0; i < g.m; ++i) {
    T* c = g.c + i * g.ldc;
    if (!g.accumulate) std::fill_n(c, g.n, T{});
    if (g.transpose_b) {
      // C(i, j) += A(i, :) . B(j, :): both rows contiguous.
      for (std::size_t j = 0; j < g.n; ++j) {
        const T* b = g.b + j * g.ldb;
        T sum{};
        for (std::size_t p = 0; p < g.k; ++p) sum += a_at(i, p) * b[p];
        c[j] += sum;
      }
    } else {
      for (std::size_t p = 0; p < g.k; ++p) {
        const T a = a_at(i, p);
        const T* b = g.b + p * g.ldb;
        for (std::size_t j = 0; j < g.n; ++j) c[j] += a * b[j];
      }
    }
  }
}

// The form the adapters take: a callable object.
struct NaiveGemm {
  template <class T>
  void operator()(const colt::Gemm<T>& g) const {
    naive_gemm(g);
  }
};

}  // namespace samples
