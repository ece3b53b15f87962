#pragma once
// Ring schedule: rank r sends to r+1 and receives from r-1. In reduce-scatter step s
// (0 <= s < p-1) rank r sends segment r-s-1 and receives segment r-s-2 (mod p), so after p-1
// steps it holds the fully reduced segment r. In all-gather step s it sends segment r-s and
// receives segment r-s-1, so every segment visits every rank once.

namespace colt::schedule::ring {

constexpr int mod(int a, int p) { return ((a % p) + p) % p; }
constexpr int right(int rank, int p) { return mod(rank + 1, p); }
constexpr int left(int rank, int p) { return mod(rank - 1, p); }

constexpr int reduce_scatter_send(int rank, int step, int p) { return mod(rank - step - 1, p); }
constexpr int reduce_scatter_recv(int rank, int step, int p) { return mod(rank - step - 2, p); }
constexpr int all_gather_send(int rank, int step, int p) { return mod(rank - step, p); }
constexpr int all_gather_recv(int rank, int step, int p) { return mod(rank - step - 1, p); }

}  // namespace colt::schedule::ring
