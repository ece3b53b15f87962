// expect-error: constraints not satisfied
// A user reduction defined only for integers cannot be applied to float buffers.
#include <concepts>
#include <vector>
#include "colt/collectives/all_reduce.hpp"
#include "colt/transport/inprocess.hpp"

struct bitwise_or {
  template <std::integral C>
  C operator()(C a, C b) const {
    return a | b;
  }
};

void misuse(colt::inprocess::Communicator& comm) {
  std::vector<float> data(4);
  colt::all_reduce(comm, data, bitwise_or{});
}
