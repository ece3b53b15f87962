#pragma once
// Every collective, send/recv and the in-process transport, without the adapters (DataParallel,
// ShardedDataParallel, ElasticTraining, TensorSplit, Pipeline): for programs that call
// collectives themselves, it compiles in about half the time of colt.hpp
// (docs/getting-started.md, "Which header to include"). Like colt.hpp it is for users; colt's
// own headers include exactly what they use. MPI and UCX each have one header of their own
// (colt/transport/mpi.hpp, colt/transport/ucx.hpp), because they need <mpi.h> and <ucp/api/ucp.h>.

// First, so that a compiler in C++17 mode reports "colt needs C++20" before anything else.
#include "colt/core/config.hpp"

#include "colt/algorithms/select.hpp"
#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/all_to_all.hpp"
#include "colt/collectives/barrier.hpp"
#include "colt/collectives/broadcast.hpp"
#include "colt/collectives/gather.hpp"
#include "colt/collectives/reduce.hpp"
#include "colt/collectives/reduce_scatter.hpp"
#include "colt/collectives/scatter.hpp"
#include "colt/collectives/send_recv.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/error.hpp"
#include "colt/core/ops.hpp"
#include "colt/core/partition.hpp"
#include "colt/core/trace_signal.hpp"
#include "colt/core/types.hpp"
#include "colt/transport/inprocess.hpp"
#include "colt/version.hpp"
