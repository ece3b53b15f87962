// expect-error: constraints not satisfied
// Input and output element types must agree: no silent conversion inside a collective.
#include <vector>
#include "colt/collectives/all_reduce.hpp"
#include "colt/transport/inprocess.hpp"

void misuse(colt::inprocess::Communicator& comm) {
  std::vector<float> in(4);
  std::vector<double> out(4);
  colt::all_reduce(comm, in, out, colt::sum{});
}
