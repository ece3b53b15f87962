#include <doctest/doctest.h>

#include <random>
#include <thread>
#include <vector>

#include "colt/collectives/send_recv.hpp"
#include "colt/transport/inprocess.hpp"
#include "random.hpp"
#include "errors.hpp"

using namespace colt;
using colt::test::error_from;
using colt::test::error_kind;

TEST_CASE("send/recv: typed buffers between any pair, user tags keep streams apart") {
  std::mt19937_64 rng(test::base_seed());
  const auto a = test::random_buffer<double>(rng, 1009);
  const auto b = test::random_buffer<bfloat16>(rng, 17);
  inprocess::launch(4, [&](inprocess::Communicator& comm) {
    if (comm.rank() == 3) {  // two streams at once; rank 0 takes tag 1 first
      std::thread other_stream([&] { send(comm, b, 0, 2); });
      send(comm, a, 0, 1);
      other_stream.join();
    } else if (comm.rank() == 0) {
      std::vector<double> got_a(a.size());
      std::vector<bfloat16> got_b(b.size());
      recv(comm, got_a, 3, 1);
      recv(comm, got_b, 3, 2);
      CHECK(got_a == a);
      CHECK(test::same_bits<bfloat16>(got_b, b));
    }
  });
}

TEST_CASE("send/recv: errors name the peer; sizes must match") {
  CHECK(error_kind([&] {
          inprocess::launch(2, [&](inprocess::Communicator& comm) {
            std::vector<int> data(5, 3);
            if (comm.rank() == 0)
              send(comm, data, 1);
            else {
              std::vector<int> more(6);
              recv(comm, more, 0);
            }
          });
        }) == ErrorKind::mismatch);
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    std::vector<int> data(1);
    CHECK(error_kind([&] { send(comm, data, 5); }) == ErrorKind::invalid_argument);
    CHECK(error_kind([&] { send(comm, data, 1 - comm.rank(), 70000); }) ==
          ErrorKind::invalid_argument);
  });
}
