// Point-to-point over colt's UCX transport, measured the way ucx_perftest measures UCP tag
// matching, so the two can be printed side by side (benchmarks/ucx_vs_perftest.sh):
//   bandwidth  rank 0 streams `iterations` messages to rank 1, keeping `window` sends in flight
//              (rank 1 keeps as many receives posted); one ack ends the run. MiB/s = bytes moved
//              / 2^20 / seconds, as ucx_perftest's "MB/s".
//   latency    ping-pong of one message; half the round trip, averaged over the iterations.
// Two processes under mpiexec; MPI only carries the UCX address exchange.
//
//   mpiexec -n 2 build/benchmarks/p2p_ucx [--smoke] [--no-peer-errors]
// --no-peer-errors: endpoints without UCX's peer error handling, so UCX may use shared memory.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "colt/transport/mpi.hpp"
#include "colt/transport/ucx.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

struct Row {
  std::size_t bytes;
  double mib_per_s;
  double latency_us;
};

// Streams `iterations` messages of `bytes` from rank 0 to rank 1; returns seconds on rank 0.
double stream(colt::ucx::Communicator& comm, std::vector<std::byte>& buffer, std::size_t bytes,
              int iterations, int window, bool check) {
  if (check) window = 1;  // the sender rewrites its buffer: only once the last send completed
  auto& t = comm.transport();
  const colt::Tag tag = colt::Tag::make(colt::CollectiveKind::point_to_point, 1);
  const colt::Tag ack = colt::Tag::make(colt::CollectiveKind::point_to_point, 2);
  const auto deadline = comm.deadline();
  std::vector<colt::ucx::Request> flight(static_cast<std::size_t>(window));
  const auto span = std::span(buffer).first(bytes);
  const auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) {
    auto& slot = flight[static_cast<std::size_t>(i % window)];
    slot.wait(deadline);
    if (comm.rank() == 0) {
      if (check && bytes) span[0] = static_cast<std::byte>(i);
      slot = t.isend(1, span, tag);
    } else {
      slot = t.irecv(0, span, tag);
      if (check) {  // one at a time, so the content can be checked
        const std::size_t got = slot.wait(deadline);
        if (got != bytes || (bytes && span[0] != static_cast<std::byte>(i)))
          throw colt::Error(colt::ErrorKind::corrupt, colt::Operation::user, colt::Error::Rank{1},
                            colt::Error::Peer{0},
                            "message " + std::to_string(i) + " of " + std::to_string(bytes) +
                                " bytes arrived wrong");
      }
    }
  }
  for (auto& slot : flight) slot.wait(deadline);
  if (comm.rank() == 0)
    t.irecv(1, {}, ack).wait(deadline);
  else
    t.isend(0, {}, ack).wait(deadline);
  return seconds(start);
}

// Average half round trip, in seconds.
double ping_pong(colt::ucx::Communicator& comm, std::vector<std::byte>& buffer, std::size_t bytes,
                 int iterations) {
  auto& t = comm.transport();
  const colt::Tag tag = colt::Tag::make(colt::CollectiveKind::point_to_point, 3);
  const auto deadline = comm.deadline();
  const auto span = std::span(buffer).first(bytes);
  const int peer = 1 - comm.rank();
  const auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) {
    if (comm.rank() == 0) {
      t.isend(peer, span, tag).wait(deadline);
      t.irecv(peer, span, tag).wait(deadline);
    } else {
      t.irecv(peer, span, tag).wait(deadline);
      t.isend(peer, span, tag).wait(deadline);
    }
  }
  return seconds(start) / iterations / 2;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf(
          "usage: mpiexec -n 2 p2p_ucx [--smoke] [--no-peer-errors]\n"
          "  --smoke            a few sizes, results checked, not timed\n"
          "  --no-peer-errors   endpoints without UCX's peer error handling (then UCX may use\n"
          "                     shared memory)\n");
      return 0;
    }
  colt::mpi::Environment mpi(argc, argv);
  bool smoke = false;
  colt::ucx::Options options;
  for (int i = 1; i < argc; ++i) {
    smoke = smoke || std::strcmp(argv[i], "--smoke") == 0;
    if (std::strcmp(argv[i], "--no-peer-errors") == 0) options.peer_error_handling = false;
  }
  std::vector<Row> rows;
  {
    auto bootstrap = colt::mpi::world();
    if (bootstrap.size() != 2) {
      if (bootstrap.rank() == 0)
        std::fprintf(stderr, "p2p_ucx: run on exactly 2 ranks (mpiexec -n 2)\n");
      return 2;
    }
    auto comm = colt::ucx::communicator(bootstrap, {}, options);
    const std::size_t largest = smoke ? (1u << 20) : (64u << 20);
    std::vector<std::byte> buffer(largest, std::byte{1});
    for (std::size_t bytes :
         {8u, 64u, 512u, 4096u, 32768u, 262144u, 1u << 20, 4u << 20, 16u << 20, 64u << 20}) {
      if (bytes > largest) break;
      // About 256 MiB or 20000 messages per size, whichever is fewer; a tenth first as warm-up.
      const int iterations =
          smoke ? 20 : static_cast<int>(std::clamp<std::size_t>((256u << 20) / bytes, 20, 20000));
      const int window = bytes <= 65536 ? 32 : 4;
      stream(comm, buffer, bytes, std::max(2, iterations / 10), window, smoke);
      const double streamed = stream(comm, buffer, bytes, iterations, window, smoke);
      const int pings =
          smoke ? 10 : static_cast<int>(std::clamp<std::size_t>((64u << 20) / bytes, 10, 20000));
      ping_pong(comm, buffer, bytes, std::max(2, pings / 10));
      const double half_trip = ping_pong(comm, buffer, bytes, pings);
      rows.push_back(
          {bytes, static_cast<double>(bytes) * iterations / streamed / (1 << 20), half_trip * 1e6});
    }
    if (bootstrap.rank() == 0) {
      std::printf("%12s %14s %14s\n", "bytes", "MiB/s", "latency_us");
      for (const Row& row : rows)
        std::printf("%12zu %14.1f %14.3f\n", row.bytes, row.mib_per_s, row.latency_us);
    }
  }
  return 0;
}
