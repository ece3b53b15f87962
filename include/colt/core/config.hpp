#pragma once
// Build-wide switches. Kept tiny on purpose: everything else is a template.

// Functions callable from host and device code. Under g++ this is plain `inline`; a .cu
// translation unit compiled by nvcc sees __host__ __device__ (CuTe's config does the same).
#if defined(__CUDACC__)
#define COLT_HOST_DEVICE __host__ __device__ inline
#else
#define COLT_HOST_DEVICE inline
#endif
