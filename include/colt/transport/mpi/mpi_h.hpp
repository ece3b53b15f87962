#pragma once
// <mpi.h> without the deprecated MPI C++ bindings, which colt never uses and which Open MPI's
// and old MPICH's headers otherwise pull into every C++ translation unit (where they trip
// -Wcast-function-type). Defined before the first include of <mpi.h>; harmless if it came earlier.

#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif

#include <mpi.h>
