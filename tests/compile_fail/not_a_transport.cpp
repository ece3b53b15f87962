// expect-error: constraints not satisfied
// A type without rank/size/isend/irecv is not a Transport: no Communicator over it.
#include "colt/core/communicator.hpp"

struct NotATransport {
  int rank() const { return 0; }
};

colt::Communicator<NotATransport>* misuse = nullptr;
