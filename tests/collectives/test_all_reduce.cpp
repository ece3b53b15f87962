#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <cstdio>
#include <vector>

#include "colt/collectives/all_reduce.hpp"
#include "colt/transport/inprocess.hpp"
#include "matrix.hpp"
#include "reference.hpp"
#include "errors.hpp"

using namespace colt;
using namespace colt::test;

namespace {

const std::vector<Algorithm> ar_algorithms = algorithms_of(CollectiveKind::all_reduce);

// Runs one case; returns every rank's result.
template <class T, class Op>
std::vector<std::vector<T>> run_case(const Case& c, const std::vector<std::vector<T>>& inputs) {
  std::vector<std::vector<T>> outputs(static_cast<std::size_t>(c.ranks));
  inprocess::launch(c.ranks, [&](inprocess::Communicator& comm) {
    const auto r = static_cast<std::size_t>(comm.rank());
    if (c.in_place) {
      outputs[r] = inputs[r];
      all_reduce(comm, outputs[r], Op{}, c.algorithm);
    } else {
      std::mt19937_64 poison(c.seed + r);
      outputs[r] = random_buffer<T>(poison, c.count);  // unwritten elements show up
      all_reduce(comm, inputs[r], outputs[r], Op{}, c.algorithm);
    }
  });
  return outputs;
}

template <class T, class Op>
void check_case(const Case& c) {
  INFO(describe(c, name_of(data_type_of<T>), Op::name));
  std::mt19937_64 rng(c.seed);
  std::vector<std::vector<T>> inputs(static_cast<std::size_t>(c.ranks));
  for (auto& in : inputs) in = random_buffer<T, Op>(rng, c.count);
  const auto original = inputs;
  auto outputs = run_case<T, Op>(c, inputs);
  const Reference<T, Op> reference(inputs, 0, c.count);
  const std::string wrong = reference.check(outputs[0]);
  CHECK_MESSAGE(wrong.empty(), wrong);
  for (std::size_t r = 1; r < outputs.size(); ++r)
    CHECK_MESSAGE(same_bits<T>(outputs[r], outputs[0]), "rank " << r << " differs from rank 0");
  for (std::size_t r = 0; r < inputs.size(); ++r)
    CHECK_MESSAGE(same_bits<T>(inputs[r], original[r]), "input of rank " << r << " was modified");
}

}  // namespace

TEST_CASE("all_reduce: every algorithm x ranks 1..8 x small counts x type x op x form") {
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for_small_cases(1, ar_algorithms, [&](const Case& c) { check_case<T, Op>(c); });
    });
  });
}

TEST_CASE("all_reduce: large counts on a sample covering every dimension") {
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      if (keep_large(k)) check_case<T, Op>(large_case(k, ar_algorithms, 1));
      ++k;
    });
  });
}

TEST_CASE("all_reduce: results are bitwise identical from run to run") {
  for (Algorithm algorithm : ar_algorithms) {
    Case c{7, 100003, false, algorithm, 0, base_seed() + 17};
    INFO(describe(c, "float32", "sum"));
    std::mt19937_64 rng(c.seed);
    std::vector<std::vector<float>> inputs(7);
    for (auto& in : inputs) in = random_buffer<float>(rng, c.count);
    auto first = run_case<float, sum>(c, inputs);
    auto second = run_case<float, sum>(c, inputs);
    CHECK(same_bits<float>(first[3], second[3]));
  }
}

TEST_CASE("all_reduce: chunk pipelining with many chunks keeps results exact") {
  // 3 MiB of int64 per rank: several 1 MiB chunks per ring segment and tree level.
  for (Algorithm algorithm : {algo::ring, algo::tree}) {
    Case c{5, (std::size_t{3} << 20) / 8 + 11, true, algorithm, 0, base_seed() + 5};
    check_case<std::int64_t, sum>(c);
  }
}

TEST_CASE("all_reduce: mismatched lengths on different ranks raise colt::Error, not a hang") {
  // Usually a rank sees a wrong-sized message at once and the others are released. When every
  // rank is already waiting for a step the others never take, the timeout ends it: keep it short.
  const CommunicatorOptions short_timeout{std::chrono::seconds(5)};
  for (Algorithm algorithm : {algo::ring, algo::tree, algo::direct, algo::slots}) {
    CAPTURE(name_of(algorithm));
    bool raised = false;
    try {
      inprocess::launch(
          4,
          [&](inprocess::Communicator& comm) {
            std::vector<float> data(comm.rank() == 2 ? 1000 : 1003, 1.5f);
            all_reduce(comm, data, sum{}, algorithm);
          },
          short_timeout);
    } catch (const Error& e) {
      raised = true;
      CHECK(e.collective() == "all_reduce");
      CHECK((e.kind() == ErrorKind::mismatch || e.kind() == ErrorKind::timeout));
    }
    CHECK(raised);
  }
}

TEST_CASE("all_reduce slots: the bits of direct (both fold in rank order), in one round or many") {
  // 1 and 7 elements: one round; 1100 float64 (8800 bytes): three rounds of a 4 KiB slot.
  for (int p = 2; p <= 8; p += 3)
    for (std::size_t count : {std::size_t{1}, std::size_t{7}, std::size_t{1100}})
      for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
        for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
          Case c{p, count, false, algo::slots, 0, base_seed() + count};
          INFO(describe(c, name_of(data_type_of<T>), Op::name));
          std::mt19937_64 rng(c.seed);
          std::vector<std::vector<T>> inputs(static_cast<std::size_t>(p));
          for (auto& in : inputs) in = random_buffer<T, Op>(rng, count);
          const auto by_slots = run_case<T, Op>(c, inputs);
          c.algorithm = algo::direct;
          const auto by_direct = run_case<T, Op>(c, inputs);
          CHECK(same_bits<T>(by_slots[0], by_direct[0]));
        });
      });
}

TEST_CASE("all_reduce slots: counts that differ fail as a mismatch naming a peer, at once") {
  // Both fit one round: every rank reads the others' sizes from their slots.
  std::vector<std::optional<Error>> errors(3);
  try {
    inprocess::launch(3,
                      [&](inprocess::Communicator& comm) {
                        std::vector<float> data(comm.rank() == 1 ? 10 : 12, 1.5f);
                        errors[static_cast<std::size_t>(comm.rank())] =
                            error_from([&] { all_reduce(comm, data, sum{}); });
                      },
                      {.timeout = std::chrono::seconds(20)});
  } catch (const Error&) {
  }
  for (std::size_t r = 0; r < 3; ++r) {
    CAPTURE(r);
    REQUIRE(errors[r]);
    CHECK(errors[r]->kind() == ErrorKind::mismatch);
    CHECK(errors[r]->peer() == (r == 1 ? 0 : 1));
  }
}

TEST_CASE("all_reduce slots: a rank that returns without calling is a mismatch naming it") {
  std::vector<std::optional<Error>> errors(3);
  inprocess::launch(3,
                    [&](inprocess::Communicator& comm) {
                      if (comm.rank() == 2) return;  // returns without calling: a mismatch of calls
                      std::vector<double> data(4, 1.0);
                      errors[static_cast<std::size_t>(comm.rank())] =
                          error_from([&] { all_reduce(comm, data, sum{}, algo::slots); });
                    },
                    {.timeout = std::chrono::seconds(20)});
  // The first rank to see that rank 2 returned without taking part names it; its failure aborts
  // the group, which may reach the other rank first.
  int named = 0;
  for (std::size_t r = 0; r < 2; ++r) {
    CAPTURE(r);
    REQUIRE(errors[r]);
    CHECK((errors[r]->kind() == ErrorKind::mismatch || errors[r]->kind() == ErrorKind::aborted));
    named += errors[r]->kind() == ErrorKind::mismatch && errors[r]->peer() == 2;
  }
  CHECK(named >= 1);
}

TEST_CASE("all_reduce: bad arguments are reported before any traffic") {
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    std::vector<double> in(10), out(9);
    CHECK(error_kind([&] { all_reduce(comm, in, out, sum{}); }) == ErrorKind::invalid_argument);
    std::vector<double> buffer(20);
    CHECK(error_kind([&] {
            all_reduce(comm, std::span(buffer).first(10), std::span(buffer).subspan(5, 10), sum{});
          }) == ErrorKind::invalid_argument);
    // The failed calls sent nothing: the communicator still works.
    std::vector<double> ok = {1.0 + comm.rank()};
    all_reduce(comm, ok, sum{});
    CHECK(ok[0] == 3.0);
  });
}

TEST_CASE("all_reduce: 8 in-process ranks on 2 cores do 1000 8-byte all-reduces quickly") {
  // Generous bound: the measured figure is printed (and quoted in docs/performance.md).
  for (Algorithm algorithm : {algo::automatic, algo::tree, algo::ring}) {
    double seconds = 0;
    inprocess::launch(8, [&](inprocess::Communicator& comm) {
      std::vector<float> data = {1.0f, 2.0f};
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < 1000; ++i) {
        data = {1.0f, 2.0f};
        all_reduce(comm, data, sum{}, algorithm);
      }
      if (comm.rank() == 0) {
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        CHECK(data[0] == 8.0f);
        CHECK(data[1] == 16.0f);
      }
    });
    std::printf("1000 x 8-byte all_reduce on 8 in-process ranks (%s): %.3f s\n",
                name_of(algorithm).data(), seconds);
    CHECK(seconds < 5.0);
  }
}
