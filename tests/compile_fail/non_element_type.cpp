// expect-error: constraints not satisfied
// char is not a colt element type: all_reduce must not accept it.
#include <vector>
#include "colt/collectives/all_reduce.hpp"
#include "colt/transport/inprocess.hpp"

void misuse(colt::inprocess::Communicator& comm) {
  std::vector<char> data(4);
  colt::all_reduce(comm, data, colt::sum{});
}
