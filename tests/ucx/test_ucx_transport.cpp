// The UCX transport itself, on in-process ranks: raw messages, ordering, sub-communicators, and
// every failure a user can cause or meet ending in a colt::Error that names the peer, in time,
// with nothing printed by UCX.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "colt/transport/ucx.hpp"
#include "errors.hpp"
#include "random.hpp"
#include "reference.hpp"
#include "shrink_cases.hpp"
#include "wall_time.hpp"

using namespace colt;
using namespace colt::test;

namespace {

// The colt::Error `fn` makes ucx::launch throw, if any.
template <class Fn>
std::optional<Error> launch_error(int ranks, Fn&& fn, CommunicatorOptions options = {}) {
  return error_from([&] { ucx::launch(ranks, fn, options); });
}

// Everything written to stdout and stderr (where UCX logs) while `fn` runs.
template <class Fn>
std::string output_of(Fn&& fn) {
  std::fflush(stdout);
  std::fflush(stderr);
  char path[] = "/tmp/colt_ucx_output_XXXXXX";
  const int file = mkstemp(path);
  REQUIRE(file >= 0);
  const int saved_out = dup(1), saved_err = dup(2);
  dup2(file, 1);
  dup2(file, 2);
  try {
    fn();
  } catch (...) {
  }
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  close(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path);
  return text.str();
}

}  // namespace

TEST_CASE("ucx: messages of every size arrive intact, in posting order per tag, sizes reported") {
  std::mt19937_64 rng(base_seed() + 7);
  const std::vector<std::size_t> sizes = {0,     1,       8,       4095,
                                          65536, 1 << 20, 33554467};  // eager to rendezvous
  std::vector<std::vector<std::int64_t>> payloads;
  for (std::size_t bytes : sizes) payloads.push_back(random_buffer<std::int64_t>(rng, bytes / 8));
  ucx::launch(2, [&](ucx::Communicator& comm) {
    auto& t = comm.transport();
    const Tag tag = Tag::make(CollectiveKind::point_to_point, 3);
    if (comm.rank() == 0) {
      std::vector<ucx::Request> sends;
      for (const auto& p : payloads) sends.push_back(t.isend(1, std::as_bytes(std::span(p)), tag));
      for (std::size_t i = 0; i < sends.size(); ++i)
        CHECK(sends[i].wait(comm.deadline()) == payloads[i].size() * 8);
    } else {
      for (const auto& p : payloads) {  // same tag: must match in posting order
        std::vector<std::int64_t> got(p.size() + 3, -1);
        auto r = t.irecv(0, std::as_writable_bytes(std::span(got)), tag);
        CHECK(r.wait(comm.deadline()) == p.size() * 8);
        CHECK(same_bits<std::int64_t>(std::span(got).first(p.size()), p));
      }
    }
  });
}

TEST_CASE("ucx: communicators split from one worker never see each other's messages") {
  ucx::launch(4, [](ucx::Communicator& comm) {
    // 100 duplicates: each takes a fresh context id on every member.
    std::vector<ucx::Communicator> copies;
    for (int i = 0; i < 100; ++i) copies.push_back(comm.dup());
    // Same collective, same call number, same tag on every copy: posted on all before any wait.
    const int rank = comm.rank();
    std::vector<std::vector<std::int64_t>> values(copies.size());
    std::vector<ucx::Request> requests;
    const Tag tag = Tag::make(CollectiveKind::point_to_point, 0);
    const int next = (rank + 1) % comm.size(), previous = (rank + comm.size() - 1) % comm.size();
    std::vector<std::int64_t> sent(copies.size());
    for (std::size_t i = 0; i < copies.size(); ++i) {
      sent[i] = static_cast<std::int64_t>(i * 1000 + static_cast<std::size_t>(rank));
      values[i].assign(1, -1);
      requests.push_back(
          copies[i].transport().irecv(previous, std::as_writable_bytes(std::span(values[i])), tag));
    }
    for (std::size_t i = copies.size(); i-- > 0;)
      requests.push_back(
          copies[i].transport().isend(next, std::as_bytes(std::span(sent).subspan(i, 1)), tag));
    for (auto& r : requests) r.wait(comm.deadline());
    for (std::size_t i = 0; i < copies.size(); ++i)
      CHECK(values[i][0] ==
            static_cast<std::int64_t>(i * 1000 + static_cast<std::size_t>(previous)));
    // Sub-groups of a sub-group.
    auto pairs = comm.split(rank / 2, rank);
    auto singles = pairs.split(pairs.rank(), 0);
    CHECK(singles.size() == 1);
    std::vector<float> one = {1.0f};
    all_reduce(pairs, one, sum{});
    all_reduce(singles, one, sum{});
    CHECK(one[0] == 2.0f);
  });
}

TEST_CASE(
    "ucx: a message larger than the receive buffer is an error naming the peer and UCX's status") {
  const auto error = launch_error(2, [](ucx::Communicator& comm) {
    std::vector<std::byte> data(comm.rank() == 0 ? 64 : 16);
    const Tag tag = Tag::make(CollectiveKind::point_to_point, 1);
    if (comm.rank() == 0)
      comm.transport().isend(1, data, tag).wait(comm.deadline());
    else
      comm.transport().irecv(0, data, tag).wait(comm.deadline());
  });
  REQUIRE(error);
  CHECK(error->kind() == ErrorKind::mismatch);
  CHECK(error->rank() == 1);
  CHECK(error->peer() == 0);
  CHECK_MESSAGE(error->cause().find("UCX: Message truncated") != std::string::npos, error->what());
}

TEST_CASE("ucx: mismatched counts and bad roots end in colt::Error on the ranks, never a hang") {
  for (Algorithm algorithm : {algo::ring, algo::tree, algo::direct}) {
    CAPTURE(std::string(name_of(algorithm)));
    const auto start = Clock::now();
    const auto error = launch_error(
        3,
        [&](ucx::Communicator& comm) {
          std::vector<float> data(comm.rank() == 1 ? 1000 : 1003, 1.5f);
          all_reduce(comm, data, sum{}, algorithm);
        },
        CommunicatorOptions{.timeout = std::chrono::seconds(20)});
    CHECK_MESSAGE((error && error->collective() == "all_reduce"), text_of(error));
    CHECK(seconds_since(start) <
          10);  // the abort notice ends the others' waits, not their deadline
  }
  const auto root = launch_error(2, [](ucx::Communicator& comm) {
    std::vector<double> data(10, 2.0);
    broadcast(comm, data, comm.size());
  });
  CHECK_MESSAGE((root && root->kind() == ErrorKind::invalid_argument), text_of(root));
  const auto peer = launch_error(2, [](ucx::Communicator& comm) {
    std::vector<std::byte> data(4);
    comm.transport().isend(comm.rank(), data, Tag{});
  });
  CHECK_MESSAGE((peer && peer->kind() == ErrorKind::invalid_argument), text_of(peer));
}

TEST_CASE("ucx: a peer that never posts is a timeout error naming it, within the timeout") {
  std::atomic<bool> gave_up{false};
  std::vector<std::optional<Error>> seen(2);
  const auto start = Clock::now();
  const auto error = launch_error(
      3,
      [&](ucx::Communicator& comm) {
        if (comm.rank() == 2) {  // alive, but never calls: waits for rank 0 to give up
          while (!gave_up) std::this_thread::sleep_for(std::chrono::milliseconds(5));
          return;
        }
        try {
          std::vector<double> data(100, 1.0);
          all_reduce(comm, data, sum{}, algo::direct);
        } catch (const Error& e) {
          seen[static_cast<std::size_t>(comm.rank())] = e;
          gave_up = true;
          throw;
        }
      },
      CommunicatorOptions{.timeout = std::chrono::milliseconds(500)});
  const double waited = seconds_since(start);
  REQUIRE(error);
  // Ranks 0 and 1 wait for rank 2: the first to time out names it, and aborts the other (which
  // may instead see rank 2's endpoint close, once rank 2 has left).
  int named = 0;
  for (const auto& e : seen) {
    REQUIRE(e);
    CHECK((e->kind() == ErrorKind::timeout || e->kind() == ErrorKind::aborted ||
           e->kind() == ErrorKind::peer_failed));
    if (e->kind() == ErrorKind::timeout && e->peer() == 2) ++named;
  }
  CHECK(named >= 1);
  CHECK(waited >= 0.5);
  CHECK(waited < within(0.5));
}

TEST_CASE("ucx: a rank that fails aborts the others at once, with its cause") {
  const auto start = Clock::now();
  const auto error = launch_error(
      4,
      [](ucx::Communicator& comm) {
        std::vector<float> data(1 << 16, 1.0f);
        all_reduce(comm, data, sum{});
        if (comm.rank() == 3)
          throw Error(ErrorKind::internal, Operation::user, Error::Rank{3}, "loss is NaN");
        all_reduce(comm, data, sum{});  // ranks 0-2 wait here for rank 3
      },
      CommunicatorOptions{.timeout = std::chrono::seconds(60)});
  REQUIRE(error);  // rank 3's own error, or a peer's abort notice citing it
  CHECK((error->kind() == ErrorKind::internal || error->kind() == ErrorKind::aborted));
  CHECK_MESSAGE(error->cause().find("loss is NaN") != std::string::npos, error->what());
  CHECK(seconds_since(start) < 10);
  // The others saw the abort notice, not their 60 s deadline.
  std::vector<std::string> seen(4);
  try {
    ucx::launch(
        4,
        [&](ucx::Communicator& comm) {
          try {
            std::vector<float> data(100, 1.0f);
            if (comm.rank() == 3) throw std::runtime_error("rank 3 gives up");
            all_reduce(comm, data, sum{});
          } catch (const std::exception& e) {
            seen[static_cast<std::size_t>(comm.rank())] = e.what();
            throw;
          }
        },
        CommunicatorOptions{.timeout = std::chrono::seconds(60)});
  } catch (const std::exception&) {
  }
  for (int r = 0; r < 3; ++r)
    CHECK_MESSAGE(seen[static_cast<std::size_t>(r)].find("rank 3 aborted: rank 3 gives up") !=
                      std::string::npos,
                  seen[static_cast<std::size_t>(r)]);
}

TEST_CASE("ucx: a rank whose worker is gone is reported by its peers within the timeout") {
  const auto start = Clock::now();
  std::vector<std::optional<Error>> seen(3);
  ucx::launch(
      3,
      [&](ucx::Communicator& comm) {
        if (comm.rank() == 1) return;  // leaves: its worker is flushed, closed and destroyed
        try {
          std::vector<double> data(1000, 1.0);
          all_reduce(comm.rank() == 0 ? comm : comm, data, sum{});
        } catch (const Error& e) {
          seen[static_cast<std::size_t>(comm.rank())] = e;
        }
      },
      CommunicatorOptions{.timeout = std::chrono::milliseconds(700)});
  CHECK(seconds_since(start) < within(0.7));
  // A rank that talks to rank 1 sees its endpoint fail (or time out); one that learns of it from
  // that rank is aborted, citing it.
  int saw_it_fail = 0;
  for (int r : {0, 2}) {
    const auto& error = seen[static_cast<std::size_t>(r)];
    REQUIRE_MESSAGE(error, "rank " << r << " saw no error");
    const ErrorKind kind = error->kind();
    CHECK_MESSAGE((kind == ErrorKind::peer_failed || kind == ErrorKind::timeout ||
                   kind == ErrorKind::aborted),
                  std::string(error->what()));
    if (kind != ErrorKind::aborted) ++saw_it_fail;
    CHECK(error->collective() == "all_reduce");
    CHECK(error->rank() == r);
    CHECK(error->peer() != no_peer);
  }
  CHECK(saw_it_fail >= 1);
}

TEST_CASE("ucx: start-up and shut-down print nothing, after success and after failure") {
  const std::string text = output_of([] {
    ucx::launch(4, [](ucx::Communicator& comm) {
      std::vector<float> data(1 << 20, 1.0f);  // rendezvous-sized messages
      all_reduce(comm, data, sum{});
      auto copy = comm.dup();
      barrier(copy);
    });
    launch_error(
        3,
        [](ucx::Communicator& comm) {
          std::vector<float> data(comm.rank() == 1 ? 10 : 12, 1.0f);
          all_reduce(comm, data, sum{});
        },
        CommunicatorOptions{.timeout = std::chrono::seconds(5)});
  });
  CHECK_MESSAGE(text.empty(), text);
}

TEST_CASE(
    "ucx: without peer error handling (shared memory allowed) collectives and shutdown still "
    "work") {
  const std::string text = output_of([] {
    inprocess::launch(3, [](inprocess::Communicator& bootstrap) {
      auto comm = ucx::communicator(bootstrap, {}, ucx::Options{.peer_error_handling = false});
      std::vector<double> data(100003, 1.0);
      all_reduce(comm, data, sum{});
      CHECK(data[100002] == 3.0);
    });
  });
  CHECK_MESSAGE(text.empty(), text);
}

TEST_CASE("ucx shrink: ranks whose workers vanish are named by every survivor, who go on") {
  // A rank that dies here ends its thread and its worker without a word, as a killed process
  // does; the survivors learn of it from UCX (the closed connection), not from their deadline.
  CommunicatorOptions options;
  options.timeout = std::chrono::seconds(10);
  const auto launch = [&](int ranks, auto&& fn) {
    return ucx::launch_surviving(ranks, fn, options);
  };
  const LossCase cases[] = {{4, {2}, -1}, {4, {1}, 3}, {2, {0}, -1}};
  for (const auto& c : cases) {
    CAPTURE(c.ranks);
    CAPTURE(c.die_in_recovery);
    const LossOutcome out = lose_ranks(launch, c);
    check_loss(c, out);
    CHECK(out.seconds < 2 * (10 + 1));  // never a hang; the recovery-time goal is a benchmark's
  }
}
