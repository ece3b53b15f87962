// expect-error: LastingOutputBuffer
// A started call keeps using its buffers after it returns: a temporary container would be freed
// while the request still writes into it, so started forms refuse one (a std::span stays fine).
#include <vector>
#include "colt/collectives/all_reduce.hpp"
#include "colt/transport/inprocess.hpp"

std::vector<float> make_gradients() { return std::vector<float>(4, 1.0f); }

colt::Request misuse(colt::inprocess::Communicator& comm) {
  return colt::iall_reduce(comm, make_gradients(), colt::sum{});
}
