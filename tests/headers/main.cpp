// Links two translation units that include every header into one program: duplicate definitions
// of colt's inline functions and variables would fail here (ODR), and the program must run.
#include "colt/colt.hpp"

int main() {
  int result = 1;
  colt::inprocess::launch(2, [&](colt::inprocess::Communicator& comm) {
    int value[] = {comm.rank() + 1};
    colt::all_reduce(comm, value, colt::sum{});
    if (comm.rank() == 0) result = value[0] == 3 ? 0 : 1;
  });
  return result;
}
