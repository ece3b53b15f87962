#pragma once
// Build-wide switches. Kept tiny on purpose: everything else is a template.

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
