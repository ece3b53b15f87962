#pragma once
// Everything a user of colt needs, in one include: colt/collectives.hpp (every collective and the
// in-process transport) plus the adapters. colt's own headers never include this file. A program
// that calls collectives itself compiles faster with colt/collectives.hpp alone; MPI and UCX
// each have one header (colt/transport/mpi.hpp, colt/transport/ucx.hpp; the latter brings
// FileRendezvous, which only UCX launches use). docs/getting-started.md has the figures.

// First, so that a compiler in C++17 mode reports "colt needs C++20" before anything else.
#include "colt/core/config.hpp"

#include "colt/collectives.hpp"
#include "colt/adapters/data_parallel.hpp"
#include "colt/adapters/elastic.hpp"
#include "colt/adapters/pipeline.hpp"
#include "colt/adapters/sharded_data_parallel.hpp"
#include "colt/adapters/tensor_split.hpp"
