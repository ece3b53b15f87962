// The MPI transport itself: messages above MPI's int count, truncation, deadlines, cancelled
// receives, and adoption of a communicator the program already had. Run with 2 ranks.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "colt/colt.hpp"
#include "mpi_world.hpp"
#include "random.hpp"

using namespace colt;
using namespace colt::test;

TEST_CASE("mpi transport: a message above 1 GiB travels in pieces and arrives whole") {
  auto& comm = world();
  REQUIRE(comm.size() >= 2);
  // 1 GiB + 4099 bytes: two pieces, the second not a multiple of anything.
  const std::size_t bytes = mpi::max_piece_bytes + 4099;
  const Tag tag = Tag::make(CollectiveKind::internal, 1);
  const Deadline deadline = Deadline::after(std::chrono::seconds(120));
  if (comm.rank() == 0) {
    std::vector<std::byte> data(bytes);
    for (std::size_t i = 0; i < bytes; i += 4096)
      data[i] = static_cast<std::byte>(i / 4096 * 7 + 1);
    data.back() = std::byte{0x5A};
    CHECK(comm.transport().isend(1, data, tag).wait(deadline) == bytes);
  } else if (comm.rank() == 1) {
    std::vector<std::byte> data(bytes + 100);  // larger than the message: allowed
    CHECK(comm.transport().irecv(0, data, tag).wait(deadline) == bytes);
    bool same = data[bytes - 1] == std::byte{0x5A};
    for (std::size_t i = 0; i < bytes - 1; i += 4096)
      same = same && data[i] == static_cast<std::byte>(i / 4096 * 7 + 1);
    CHECK(same);
  }
  barrier(comm);
}

TEST_CASE(
    "mpi transport: a message larger than the receive buffer is a colt::Error naming the peer") {
  auto& comm = world();
  const Tag tag = Tag::make(CollectiveKind::internal, 2);
  const Deadline deadline = Deadline::after(std::chrono::seconds(30));
  if (comm.rank() == 0) {
    std::vector<std::byte> data(100);
    comm.transport().isend(1, data, tag).wait(deadline);
  } else if (comm.rank() == 1) {
    std::vector<std::byte> data(50);
    try {
      comm.transport().irecv(0, data, tag).wait(deadline);
      FAIL("truncation went unnoticed");
    } catch (const Error& e) {
      CHECK(e.peer() == 0);
      CHECK(e.kind() == ErrorKind::mismatch);
    }
  }
  barrier(comm);
}

TEST_CASE("mpi transport: a wait honours its deadline, and the cancelled receive leaves no trace") {
  auto& comm = world();
  const Tag tag = Tag::make(CollectiveKind::internal, 3);
  if (comm.rank() == 1) {
    std::vector<std::byte> data(8);
    const auto start = Clock::now();
    try {
      comm.transport().irecv(0, data, tag).wait(Deadline::after(std::chrono::milliseconds(200)));
      FAIL("a receive nobody sends completed");
    } catch (const Error& e) {
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      CHECK(e.peer() == 0);
      CHECK(e.kind() == ErrorKind::timeout);
      CHECK(waited < 5.0);
    }
  }
  barrier(comm);
  // A later message with the same tag goes to a later receive, not to the cancelled one.
  if (comm.rank() == 0) {
    std::int64_t value = 42;
    comm.transport().isend(1, std::as_bytes(std::span(&value, 1)), tag).wait(comm.deadline());
  } else if (comm.rank() == 1) {
    std::int64_t value = 0;
    comm.transport()
        .irecv(0, std::as_writable_bytes(std::span(&value, 1)), tag)
        .wait(comm.deadline());
    CHECK(value == 42);
  }
  barrier(comm);
}

TEST_CASE("mpi adoption: colt on a communicator the program made keeps out of its traffic") {
  // The program splits MPI_COMM_WORLD itself and has a receive of its own pending on the result.
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm theirs = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, 0, -world_rank, &theirs);  // reversed ranks
  int their_rank = 0, their_size = 0;
  MPI_Comm_rank(theirs, &their_rank);
  MPI_Comm_size(theirs, &their_size);
  const int left = (their_rank + their_size - 1) % their_size,
            right = (their_rank + 1) % their_size;
  int incoming = -1;
  MPI_Request pending;
  MPI_Irecv(&incoming, 1, MPI_INT, left, 0, theirs, &pending);
  {
    auto comm = mpi::communicator(theirs);
    CHECK(comm.rank() == their_rank);
    CHECK(comm.size() == their_size);
    std::vector<std::int32_t> data = {their_rank, 1};
    all_reduce(comm, data, sum{});  // tag 0 traffic of colt's must not land in `incoming`
    CHECK(data[0] == their_size * (their_size - 1) / 2);
    CHECK(data[1] == their_size);
    int flag = 0;
    MPI_Test(&pending, &flag, MPI_STATUS_IGNORE);
    CHECK(flag == 0);
  }
  // Every rank has looked before any rank sends the message another is waiting for: a rank whose
  // all_reduce finished first would otherwise fill its neighbour's receive before it looked.
  MPI_Barrier(theirs);
  MPI_Send(&their_rank, 1, MPI_INT, right, 0, theirs);
  MPI_Wait(&pending, MPI_STATUS_IGNORE);
  CHECK(incoming == left);
  MPI_Comm_free(&theirs);
}

TEST_CASE("mpi environment: reports the thread level MPI provided") {
  int provided = -1;
  MPI_Query_thread(&provided);
  mpi::Environment again;  // MPI is up: adopts it, changes nothing
  CHECK(!again.owns_mpi());
  CHECK(static_cast<int>(again.thread_level()) == provided);
}
