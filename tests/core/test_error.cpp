// colt::Error: the operation comes from the fixed list, each with one distinct name, and the
// constructor refuses a rank and a peer passed as plain ints, or swapped.

#include <doctest/doctest.h>

#include <colt/core/error.hpp>

#include <set>
#include <string>
#include <string_view>
#include <type_traits>

using colt::Error;
using colt::ErrorKind;
using colt::Operation;

// Swapped, or as the plain ints the constructor once took: neither compiles.
static_assert(
    std::is_constructible_v<Error, ErrorKind, Operation, Error::Rank, Error::Peer, std::string>);
static_assert(
    !std::is_constructible_v<Error, ErrorKind, Operation, Error::Peer, Error::Rank, std::string>);
static_assert(!std::is_constructible_v<Error, ErrorKind, Operation, int, int, std::string>);
static_assert(!std::is_constructible_v<Error, ErrorKind, Operation, Error::Peer, std::string>);
static_assert(!std::is_constructible_v<Error, ErrorKind, const char*, Error::Rank, std::string>);
static_assert(!std::is_convertible_v<int, Error::Rank> && !std::is_convertible_v<int, Error::Peer>);

TEST_CASE("every operation has its own name, and only unnamed has none") {
  // Every value an Operation's byte can hold: those outside the list print "unknown".
  std::set<std::string_view> names;
  int listed = 0;
  for (int i = 0; i < 256; ++i) {
    const auto operation = static_cast<Operation>(i);
    const std::string_view name = colt::name_of(operation);
    if (name == "unknown") continue;
    CAPTURE(i);
    CHECK(name.empty() == (operation == Operation::unnamed));
    CHECK(names.insert(name).second);
    ++listed;
  }
  CHECK(listed > 50);
  CHECK(names.count("all_reduce") == 1);
  CHECK(names.count("user") == 1);
}

TEST_CASE("the message names the operation, the rank and the peer in their places") {
  const Error both(ErrorKind::timeout, Operation::all_gather_v, Error::Rank{2}, Error::Peer{5},
                   "waited");
  CHECK(std::string(both.what()) == "colt::all_gather_v: rank 2 (peer 5): timeout: waited");
  CHECK(both.operation() == Operation::all_gather_v);
  CHECK(both.collective() == "all_gather_v");
  CHECK(both.rank() == 2);
  CHECK(both.peer() == 5);

  const Error no_peer(ErrorKind::invalid_argument, Operation::tensor_split_shard, Error::Rank{0},
                      "root 9");
  CHECK(no_peer.peer() == colt::no_peer);
  CHECK(std::string(no_peer.what()) ==
        "colt::TensorSplit::shard: rank 0: invalid argument: root 9");

  const Error below(ErrorKind::transport, Operation::unnamed, Error::no_rank, "cudaErrorX");
  CHECK(std::string(below.what()) == "colt: transport: cudaErrorX");
  const Error named = below.in_collective(Operation::broadcast);
  CHECK(named.operation() == Operation::broadcast);
  CHECK(named.rank() == -1);
  CHECK(named.cause() == "cudaErrorX");
}

TEST_CASE("a collective kind names its operation, and the v forms apart") {
  CHECK(colt::operation_of(colt::CollectiveKind::all_reduce) == Operation::all_reduce);
  CHECK(colt::operation_of(colt::CollectiveKind::gather, true) == Operation::gather_v);
  CHECK(colt::operation_of(colt::CollectiveKind::all_to_all, true) == Operation::all_to_all_v);
  CHECK(colt::operation_of(colt::CollectiveKind::point_to_point) == Operation::send_recv);
}
