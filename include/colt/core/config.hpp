#pragma once
// Build-wide switches. Kept tiny on purpose: everything else is a template.

// colt is C++20 throughout (concepts, std::span, std::bit_cast). Under an older -std the first
// error would come from deep inside colt and name none of that; this one says what to change.
// g++ reports it first wherever it is met (it reads the whole file before parsing); clang reports
// in order, so the umbrellas include this file first, and core/error.hpp, which every front door
// reaches, includes it too. g++, clang and nvcc give __cplusplus the standard's value (MSVC only
// with /Zc:__cplusplus; not a target). 201703L, not 202002L: g++ 10 says 201709L under
// -std=c++20, and should fail on what it lacks, not on its version number.
#if __cplusplus <= 201703L
#error "colt needs C++20: compile with -std=c++20 (Meson: default_options: ['cpp_std=c++20'])"
#endif

// Functions callable from host and device code. Under g++ this is plain `inline`; a .cu
// translation unit compiled by nvcc sees __host__ __device__ (CuTe's config does the same).
#if defined(__CUDACC__)
#define COLT_HOST_DEVICE __host__ __device__ inline
#else
#define COLT_HOST_DEVICE inline
#endif

// Asks nvcc to unroll a loop with a constant trip count; nothing for other compilers (g++ warns
// about a pragma it does not know, and -Werror would stop the build).
#if defined(__CUDA_ARCH__)
#define COLT_UNROLL _Pragma("unroll")
#else
#define COLT_UNROLL
#endif
