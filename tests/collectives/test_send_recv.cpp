#include <doctest/doctest.h>

#include <random>
#include <thread>
#include <vector>

#include "colt/collectives/send_recv.hpp"
#include "colt/transport/inprocess.hpp"
#include "random.hpp"

using namespace colt;

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
  CHECK_THROWS_WITH_AS(inprocess::launch(2, [&](inprocess::Communicator& comm) {
                         std::vector<int> data(5, 3);
                         if (comm.rank() == 0) send(comm, data, 1);
                         else {
                           std::vector<int> more(6);
                           recv(comm, more, 0);
                         }
                       }),
                       doctest::Contains("colt::recv: rank 1 (peer 0): expected 24 bytes, received 20"), Error);
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    std::vector<int> data(1);
    CHECK_THROWS_WITH_AS(send(comm, data, 5), doctest::Contains("peer out of range"), Error);
    CHECK_THROWS_WITH_AS(send(comm, data, 1 - comm.rank(), 70000), doctest::Contains("tag 70000"), Error);
  });
}
