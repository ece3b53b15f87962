// Bad input across processes: every rank ends with a colt::Error, none hangs. Each case uses a
// fresh communicator with a short timeout, abandoned after the failure (its state is undefined,
// as with MPI after an error), so the cases stay independent.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "errors.hpp"
#include "mpi_world.hpp"
#ifdef COLT_TEST_UCX
#include "colt/transport/ucx.hpp"
#endif

using namespace colt;
using namespace colt::test;

namespace {

#ifdef COLT_TEST_UCX
// The same cases over UCX, bootstrapped over MPI (tests/ucx/meson.build builds this file again).
using TestCommunicator = ucx::Communicator;
TestCommunicator fresh(std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  auto bootstrap = mpi::world(CommunicatorOptions{.timeout = std::chrono::seconds(3)});
  return ucx::communicator(bootstrap, CommunicatorOptions{.timeout = timeout});
}
#else
using TestCommunicator = mpi::Communicator;
TestCommunicator fresh(std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  return mpi::world(CommunicatorOptions{.timeout = timeout});
}
#endif

// Runs fn on a fresh communicator; returns the colt::Error it raised on this rank, if any.
template <class Fn>
std::optional<Error> error_of(Fn&& fn,
                              std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  auto comm = fresh(timeout);
  return error_from([&] { fn(comm); });
}

// A rank sees the wrong-sized message itself (mismatch), or waits for a peer that gave up: until
// its deadline (timeout), until that peer tells it (aborted), or until UCX sees the peer's endpoint
// close (peer failed). Whichever comes first, the error names the collective.
bool mismatch_in(const std::optional<Error>& e, const std::string& collective) {
  if (!e || e->collective() != collective) return false;
  switch (e->kind()) {
    case ErrorKind::mismatch:
    case ErrorKind::timeout:
    case ErrorKind::aborted:
    case ErrorKind::peer_failed: return true;
    default: return false;
  }
}

}  // namespace

TEST_CASE("mismatched counts between ranks: every rank raises colt::Error, naming the collective") {
  for (Algorithm algorithm : {algo::ring, algo::tree, algo::direct}) {
    CAPTURE(std::string(name_of(algorithm)));
    const auto start = Clock::now();
    const auto error = error_of([&](TestCommunicator& comm) {
      std::vector<float> data(comm.rank() == 1 ? 1000 : 1003, 1.5f);
      all_reduce(comm, data, sum{}, algorithm);
    });
    CHECK_MESSAGE(mismatch_in(error, "all_reduce"), text_of(error));
    CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 30);
    CHECK(all_ranks(error.has_value()));
  }
  const auto gathered = error_of([&](TestCommunicator& comm) {
    std::vector<std::int64_t> in(comm.rank() == 0 ? 5 : 7, 1),
        out(7 * static_cast<std::size_t>(comm.size()));
    all_gather(comm, std::span(in).first(comm.rank() == 0 ? 5 : 7),
               std::span(out).first(in.size() * static_cast<std::size_t>(comm.size())));
  });
  CHECK_MESSAGE(mismatch_in(gathered, "all_gather"), text_of(gathered));
  CHECK(all_ranks(gathered.has_value()));
}

TEST_CASE("different collectives on the ranks: every rank raises colt::Error, none succeeds") {
  // Rank 0 all-reduces, the others broadcast (issue 34): in one eager message (1,000 floats) and
  // in many rendezvous ones (100,000), from root 0 and from the last rank, whose broadcast may
  // return before anyone reads it (an eager send) and whose next call fails then.
  for (const std::size_t count : {std::size_t{1000}, std::size_t{100000}})
    for (const bool root_is_last : {false, true}) {
      CAPTURE(count);
      CAPTURE(root_is_last);
      const auto start = Clock::now();
#ifdef COLT_TEST_UCX
      const bool tells_apart = false;  // UCX's waits end at the timeout
#else
      const bool tells_apart = true;
#endif
      const auto error = error_of(
          [&](TestCommunicator& comm) {
            std::vector<float> data(count, 1.0f + static_cast<float>(comm.rank()));
            if (comm.rank() == 0)
              all_reduce(comm, data, sum{});
            else
              broadcast(comm, data, root_is_last ? comm.size() - 1 : 0);
            barrier(comm);
          },
          // Over UCX the deadline is what ends each of the four cases: 1 s, not 3.
          tells_apart ? std::chrono::milliseconds(3000) : std::chrono::milliseconds(1000));
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      CAPTURE(text_of(error));
      CHECK(all_ranks(error.has_value()));
      // Over MPI the ranks see the other collective's tags (mpi/tag_fold.hpp): a mismatch on
      // every rank, well before the 3 s timeout. Over UCX the timeout ends it.
      if (tells_apart) {
        CHECK(all_ranks(error && error->kind() == ErrorKind::mismatch));
        CHECK(seconds < 2.5);
      } else {
        CHECK(error);
      }
    }
}

TEST_CASE("a root out of range is reported on every rank before any traffic") {
  for (int root : {-1, 1 << 20}) {
    auto comm = fresh();
    std::vector<double> data(10, 2.0);
    CHECK(error_kind([&] { broadcast(comm, data, root); }) == ErrorKind::invalid_argument);
    CHECK(error_kind([&] { reduce(comm, data, root == -1 ? -1 : comm.size(), sum{}); }) ==
          ErrorKind::invalid_argument);
    // Nothing was sent: the same communicator still works.
    all_reduce(comm, data, sum{});
    CHECK(data[0] == 2.0 * comm.size());
  }
}

TEST_CASE("a buffer too small is reported before any traffic") {
  auto comm = fresh();
  std::vector<float> in(8 * static_cast<std::size_t>(comm.size())), out(7);
  CHECK(error_kind([&] { reduce_scatter(comm, in, out, sum{}); }) == ErrorKind::invalid_argument);
  std::vector<float> gathered(3);
  CHECK(error_kind([&] { all_gather(comm, std::span(in).first(2), gathered); }) ==
        ErrorKind::invalid_argument);
  barrier(comm);
}
