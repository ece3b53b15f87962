#pragma once
// UCX's UCP API. Only the UCX transport's headers include it, so code that uses the in-process
// or MPI transport never needs UCX installed.
#include <ucp/api/ucp.h>
