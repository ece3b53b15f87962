#pragma once
// Parameter-server aggregation: every rank pushes its contribution to a server rank, the server
// reduces and scales it (the average), and pushes the result back to every rank.
//
// This is the aggregation of the parameter-server designs (DistBelief, Li et al. 2014) on the
// ranks colt already has: the server is a worker rank too, and a model whose gradients span
// several buckets can spread them over several servers (bucket b on rank b % size), which is
// how those designs shard the server's load. It moves the same bytes as a reduce + broadcast
// and so costs about twice a ring all-reduce for large buffers; it exists because some
// deployments want one rank to own the update (to apply it, log it or check it) and because its
// result is, by construction, the server's bits on every rank.

#include <cstddef>
#include <span>

#include "colt/collectives/broadcast.hpp"
#include "colt/collectives/reduce.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/ops.hpp"

namespace colt {

// data = scale * (sum of every rank's data), the same bits on every rank, computed on `server`.
template <Transport X, Element W>
void parameter_server_average(Communicator<X>& comm, std::span<W> data, int server, double scale) {
  reduce(comm, data, server, sum{});
  if (comm.rank() == server && scale != 1.0)
    for (W& x : data) x = static_cast<W>(static_cast<double>(x) * scale);
  broadcast(comm, data, server);
}

}  // namespace colt
