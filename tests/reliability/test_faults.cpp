// Fault injection on in-process ranks (faults::Injector over the in-process transport): a
// delayed message still gives the right answer; a dropped one ends in a timeout error on every
// rank within the timeout plus a second; a corrupted or duplicated one is caught by the
// integrity option (and shown to go unnoticed without it); a dying rank is reported on all
// others. Also: a failure breaks the communicator (later calls fail at once with the first
// cause), and abort() does it by hand.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "colt/transport/fault_injection.hpp"
#include "errors.hpp"
#include "wall_time.hpp"

using namespace colt;
using colt::test::error_from;
using colt::test::error_kind;
using colt::test::scheduling_slack_s;
using colt::test::within;
using namespace std::chrono_literals;

namespace {

using Faulty = colt::Communicator<faults::Injector<inprocess::Transport>>;

struct Outcome {
  bool failed = false;
  bool correct = false;
  int peer = no_peer;
  ErrorKind kind = ErrorKind::internal;
  std::string_view collective;
  std::string what;
  double seconds = 0;
  int injected = 0;
};

constexpr int ranks = 4;
constexpr std::size_t count = 10007;

std::vector<std::int32_t> input_of(int rank) {
  std::mt19937_64 rng(1234 + static_cast<std::uint64_t>(rank));
  std::vector<std::int32_t> v(count);
  for (auto& x : v) x = static_cast<std::int32_t>(rng());
  return v;
}

std::vector<std::int32_t> expected_sum() {
  std::vector<std::int32_t> sum(count, 0);
  for (int r = 0; r < ranks; ++r) {
    auto in = input_of(r);
    for (std::size_t i = 0; i < count; ++i)
      sum[i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(sum[i]) +
                                         static_cast<std::uint32_t>(in[i]));
  }
  return sum;
}

// Runs one ring all_reduce under `plan` on every rank; returns what happened on each. A rank
// that fails rethrows (as a real rank would), so launch aborts the group for the others.
std::vector<Outcome> run_all_reduce(const faults::Plan& plan, CommunicatorOptions options,
                                    Algorithm algorithm = algo::ring) {
  std::vector<Outcome> outcomes(ranks);
  const auto expected = expected_sum();
  try {
    inprocess::launch(ranks, [&](inprocess::Communicator& world) {
      Faulty comm(faults::Injector(world.transport(), plan), options);
      Outcome& o = outcomes[static_cast<std::size_t>(comm.rank())];
      auto data = input_of(comm.rank());
      const auto start = Clock::now();
      try {
        all_reduce(comm, data, sum{}, algorithm);
        o.correct = data == expected;
      } catch (const Error& e) {
        o = {true,
             false,
             e.peer(),
             e.kind(),
             e.collective(),
             e.what(),
             std::chrono::duration<double>(Clock::now() - start).count(),
             comm.transport().injected()};
        throw;
      }
      o.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      o.injected = comm.transport().injected();
    });
  } catch (const Error&) {
  }
  for (int r = 0; r < ranks; ++r)
    MESSAGE("rank ", r, ": ",
            std::string(outcomes[static_cast<std::size_t>(r)].failed ? "error" : "done"), " after ",
            outcomes[static_cast<std::size_t>(r)].seconds,
            " s: ", outcomes[static_cast<std::size_t>(r)].what);
  return outcomes;
}

int total_injected(const std::vector<Outcome>& outcomes) {
  int n = 0;
  for (const auto& o : outcomes) n += o.injected;
  return n;
}

}  // namespace

TEST_CASE("fault: a delayed message still gives the right result") {
  for (Algorithm a : {algo::ring, algo::tree, algo::direct}) {
    CAPTURE(name_of(a));
    faults::Plan plan{{{.action = faults::Action::delay,
                        .rank = 1,
                        .peer = faults::any_peer,
                        .message = 0,
                        .delay = 300ms}}};
    auto outcomes = run_all_reduce(plan, {.timeout = 10s}, a);
    CHECK(total_injected(outcomes) == 1);
    for (const auto& o : outcomes) {
      CHECK(!o.failed);
      CHECK(o.correct);
    }
  }
}

TEST_CASE("fault: a dropped message ends in a timeout error on every rank within timeout + 1 s") {
  for (Algorithm a : {algo::ring, algo::tree, algo::direct}) {
    CAPTURE(name_of(a));
    faults::Plan plan{
        {{.action = faults::Action::drop, .rank = 1, .peer = faults::any_peer, .message = 0}}};
    auto outcomes = run_all_reduce(plan, {.timeout = 1s}, a);
    CHECK(total_injected(outcomes) == 1);
    int own_timeouts = 0;
    for (const auto& o : outcomes) {
      // Each rank's own wait timed out, or it was told at once of a rank whose wait did.
      CHECK(o.failed);
      CHECK(!o.correct);
      CHECK(o.seconds < within(1.0));
      CHECK((o.kind == ErrorKind::timeout || o.kind == ErrorKind::aborted));
      CHECK(o.collective == "all_reduce");
      if (o.kind == ErrorKind::timeout) ++own_timeouts;
    }
    CHECK(own_timeouts >= 1);
  }
}

TEST_CASE("fault: a corrupted message is caught by the integrity option, naming the peer") {
  for (Algorithm a : {algo::ring, algo::tree, algo::direct}) {
    CAPTURE(name_of(a));
    faults::Plan plan{
        {{.action = faults::Action::corrupt, .rank = 2, .peer = faults::any_peer, .message = 0}}};
    auto outcomes = run_all_reduce(plan, {.timeout = 10s, .checksum = true}, a);
    CHECK(total_injected(outcomes) == 1);
    int named = 0;
    for (const auto& o : outcomes) {
      CHECK(o.failed);
      CHECK(o.seconds < scheduling_slack_s);  // aborted at once, not at the 10 s timeout
      CHECK((o.kind == ErrorKind::corrupt || o.kind == ErrorKind::aborted));
      // The receiver itself names the sender; the others were told by the receiver.
      if (o.peer == 2 && o.kind == ErrorKind::corrupt) ++named;
    }
    CHECK(named == 1);
  }
}

TEST_CASE(
    "fault: without the integrity option a corruption goes unnoticed (why the option exists)") {
  faults::Plan plan{
      {{.action = faults::Action::corrupt, .rank = 2, .peer = faults::any_peer, .message = 0}}};
  // Ring: the corrupted partial sum is reduced and passed on, so the wrong value spreads.
  auto outcomes = run_all_reduce(plan, {.timeout = 10s, .checksum = false});
  int wrong = 0;
  for (const auto& o : outcomes) {
    CHECK(!o.failed);
    wrong += !o.correct;
  }
  CHECK(wrong > 0);
}

TEST_CASE("fault: a duplicated message is never taken for another (numbered messages)") {
  for (Algorithm a : {algo::ring, algo::tree, algo::direct}) {
    CAPTURE(name_of(a));
    faults::Plan plan{
        {{.action = faults::Action::duplicate, .rank = 0, .peer = faults::any_peer, .message = 0}}};
    auto outcomes = run_all_reduce(plan, {.timeout = 10s}, a);
    CHECK(total_injected(outcomes) == 1);
    for (const auto& o : outcomes) {
      CHECK(!o.failed);
      CHECK(o.correct);
    }
  }
}

TEST_CASE(
    "fault: with the integrity option a duplicate is an error where it lands, never a wrong "
    "result") {
  for (Algorithm a : {algo::ring, algo::tree, algo::direct}) {
    CAPTURE(name_of(a));
    faults::Plan plan{
        {{.action = faults::Action::duplicate, .rank = 0, .peer = faults::any_peer, .message = 0}}};
    auto outcomes = run_all_reduce(plan, {.timeout = 10s, .checksum = true}, a);
    CHECK(total_injected(outcomes) == 1);
    int failed = 0;
    for (const auto& o : outcomes) {
      // The copy arrives where the trailer was expected. Ranks that finished first are right.
      CHECK((o.failed || o.correct));
      CHECK(o.seconds < scheduling_slack_s);
      failed += o.failed;
    }
    CHECK(failed >= 1);
  }
}

TEST_CASE("fault: a rank that dies is reported on all others, at once") {
  faults::Plan plan{{{.action = faults::Action::die, .rank = 2, .message = 3}}};
  std::vector<Outcome> outcomes(ranks);
  std::mutex mutex;
  try {
    inprocess::launch(ranks, [&](inprocess::Communicator& world) {
      Faulty comm(faults::Injector(world.transport(), plan), {.timeout = 20s});
      std::vector<float> data(1000, 1.0f);
      for (int call = 0; call < 10; ++call) {
        const auto start = Clock::now();
        try {
          all_reduce(comm, data, sum{});
        } catch (const Error& e) {
          std::lock_guard lock(mutex);
          outcomes[static_cast<std::size_t>(comm.rank())] = {
              true,
              false,
              e.peer(),
              e.kind(),
              e.collective(),
              e.what(),
              std::chrono::duration<double>(Clock::now() - start).count(),
              call};
          throw;
        }
      }
    });
    FAIL("no rank failed");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::aborted);
    CHECK(e.rank() == 2);
  }
  for (int r = 0; r < ranks; ++r) {
    const Outcome& o = outcomes[static_cast<std::size_t>(r)];
    CAPTURE(r);
    CAPTURE(o.what);
    CHECK(o.failed);
    CHECK(o.injected == 3);                 // every rank stopped in the call rank 2 died in
    CHECK(o.seconds < scheduling_slack_s);  // not the 20 s timeout
    CHECK(o.kind == ErrorKind::aborted);    // and the cause it cites is rank 2's death:
    CHECK(o.what.find("rank 2") != std::string::npos);
    CHECK(o.what.find("died") != std::string::npos);
  }
}

TEST_CASE(
    "broken communicator: after a failure every later call fails at once with the first cause") {
  faults::Plan plan{{{.action = faults::Action::drop, .rank = 0, .peer = 1, .message = 0}}};
  std::vector<std::string> first(2), later(2);
  std::vector<double> later_seconds(2, 99);
  inprocess::launch(2, [&](inprocess::Communicator& world) {
    // The timeout outlasts the scheduling slack, so that "at once" is told from "waited for it".
    Faulty comm(faults::Injector(world.transport(), plan), {.timeout = 4s});
    const auto r = static_cast<std::size_t>(comm.rank());
    std::vector<double> data(100, 1.0);
    try {
      all_reduce(comm, data, sum{});
      broadcast(comm, data, 0);  // a rank that finished the first call fails here
    } catch (const Error& e) {
      first[r] = e.what();
    }
    CHECK(comm.broken());
    const auto start = Clock::now();
    try {
      reduce(comm, data, 0, sum{});
    } catch (const Error& e) {
      later[r] = e.what();
    }
    later_seconds[r] = std::chrono::duration<double>(Clock::now() - start).count();
    // Later calls fail with the first failure's kind (and cite it, which the loop below reads).
    REQUIRE(comm.failure());
    const ErrorKind first_kind = comm.failure()->kind();
    CHECK(error_kind([&] { barrier(comm); }) == first_kind);
    CHECK(error_kind([&] { comm.split(0, 0); }) == first_kind);
    CHECK(error_kind([&] { send(comm, data, 1 - comm.rank()); }) == first_kind);
  });
  for (std::size_t r = 0; r < 2; ++r) {
    CAPTURE(r);
    CAPTURE(first[r]);
    CHECK(!first[r].empty());
    CHECK(later[r].find("colt::reduce: rank " + std::to_string(r)) == 0);
    CHECK(later[r].find("broken by an earlier failure: " + first[r]) != std::string::npos);
    CHECK(later_seconds[r] < scheduling_slack_s);
  }
}

TEST_CASE("abort by hand: the peers' waits end with the cause, and this rank's later calls fail") {
  std::vector<std::string> seen(3);
  try {
    inprocess::launch(
        3,
        [&](inprocess::Communicator& comm) {
          std::vector<float> data(10, 1.0f);
          if (comm.rank() == 0) {
            std::this_thread::sleep_for(100ms);
            comm.abort("operator pressed stop");
            CHECK(comm.broken());
            CHECK(error_kind([&] { all_reduce(comm, data, sum{}); }) == ErrorKind::aborted);
            return;
          }
          const auto start = Clock::now();
          try {
            all_reduce(comm, data, sum{});
          } catch (const Error& e) {
            seen[static_cast<std::size_t>(comm.rank())] = e.what();
            CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 5.0);
            throw;
          }
        },
        {.timeout = 60s});
  } catch (const Error&) {
  }
  CHECK(seen[1].find("operator pressed stop") != std::string::npos);
  CHECK(seen[2].find("operator pressed stop") != std::string::npos);
}
