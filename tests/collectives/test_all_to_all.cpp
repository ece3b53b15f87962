// all_to_all and all_to_all_v against the plain reference (segment j of rank i's input is segment
// i of rank j's output) on random data, 1..8 ranks, every element type, counts 0, 1, primes and
// uneven per-peer counts; their started forms; and counts that disagree between ranks, which are
// an error on every rank with COLT_CHECK and never a hang without it.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "colt/collectives/all_to_all.hpp"
#include "colt/transport/inprocess.hpp"
#include "errors.hpp"
#include "random.hpp"

using namespace colt;
using colt::test::error_kind;

namespace {

// Elements rank `from` sends rank `to` in the v cases: uneven, zero for some pairs.
std::size_t v_count(int from, int to, std::size_t scale) {
  return (static_cast<std::size_t>(from) * 7 + static_cast<std::size_t>(to) * 3) % 5 * scale;
}

template <class T>
void even_case(int p, std::size_t n, std::uint64_t seed) {
  CAPTURE(p);
  CAPTURE(n);
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  const auto total = n * static_cast<std::size_t>(p);
  std::vector<std::vector<T>> inputs;
  for (int r = 0; r < p; ++r) inputs.push_back(test::random_buffer<T>(rng, total));
  inprocess::launch(p, [&](inprocess::Communicator& comm) {
    const auto r = static_cast<std::size_t>(comm.rank());
    std::vector<T> out(total), started(total);
    all_to_all(comm, inputs[r], out);
    iall_to_all(comm, inputs[r], started).wait();
    std::vector<T> expected(total);
    for (std::size_t j = 0; j < static_cast<std::size_t>(p); ++j)
      for (std::size_t i = 0; i < n; ++i) expected[j * n + i] = inputs[j][r * n + i];
    CHECK(test::same_bits<T>(out, expected));
    CHECK(test::same_bits<T>(started, expected));
  });
}

template <class T>
void v_case(int p, std::size_t scale, std::uint64_t seed) {
  CAPTURE(p);
  CAPTURE(scale);
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  std::vector<std::vector<T>> inputs;
  for (int r = 0; r < p; ++r) {
    std::size_t sent = 0;
    for (int to = 0; to < p; ++to) sent += v_count(r, to, scale);
    inputs.push_back(test::random_buffer<T>(rng, sent));
  }
  inprocess::launch(p, [&](inprocess::Communicator& comm) {
    const int r = comm.rank();
    std::vector<std::size_t> sends, receives;
    for (int q = 0; q < p; ++q) {
      sends.push_back(v_count(r, q, scale));
      receives.push_back(v_count(q, r, scale));
    }
    std::size_t received = 0;
    for (auto c : receives) received += c;
    std::vector<T> out(received + 3), started(received + 3);  // room to spare is allowed
    all_to_all_v(comm, inputs[static_cast<std::size_t>(r)], sends, out, receives);
    iall_to_all_v(comm, inputs[static_cast<std::size_t>(r)], sends, started, receives).wait();
    std::vector<T> expected;
    for (int from = 0; from < p; ++from) {
      std::size_t offset = 0;  // where rank `from`'s segment for r starts in its input
      for (int to = 0; to < r; ++to) offset += v_count(from, to, scale);
      const auto& source = inputs[static_cast<std::size_t>(from)];
      for (std::size_t i = 0; i < v_count(from, r, scale); ++i)
        expected.push_back(source[offset + i]);
    }
    CHECK(test::same_bits<T>(std::span<const T>(out).first(received), expected));
    CHECK(test::same_bits<T>(std::span<const T>(started).first(received), expected));
  });
}

}  // namespace

TEST_CASE_TEMPLATE("all_to_all: 1..8 ranks, counts 0, 1 and primes, every element type", T, float,
                   double, std::int32_t, std::int64_t, half, bfloat16) {
  for (int p = 1; p <= 8; ++p)
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{13}, std::size_t{1031}})
      even_case<T>(p, n, test::base_seed() + static_cast<std::uint64_t>(p) * 1000 + n);
}

TEST_CASE("all_to_all: a large count") { even_case<float>(4, 65537, test::base_seed() + 3); }

TEST_CASE_TEMPLATE("all_to_all_v: uneven per-peer counts, some zero", T, float, double,
                   std::int32_t, bfloat16) {
  for (int p = 1; p <= 8; ++p)
    for (std::size_t scale : {std::size_t{1}, std::size_t{97}})
      v_case<T>(p, scale, test::base_seed() + static_cast<std::uint64_t>(p) * 77 + scale);
}

TEST_CASE("all_to_all: bad arguments are rejected before any traffic") {
  inprocess::launch(3, [&](inprocess::Communicator& comm) {
    std::vector<float> in(9, 1.0f), small(8), odd(8);
    CHECK(error_kind([&] { all_to_all(comm, in, small); }) == ErrorKind::invalid_argument);
    CHECK(error_kind([&] { all_to_all(comm, odd, odd); }) == ErrorKind::invalid_argument);
    CHECK(error_kind([&] { all_to_all(comm, std::span<const float>(in), std::span(in)); }) ==
          ErrorKind::invalid_argument);
    const std::vector<std::size_t> two = {1, 1};
    CHECK(error_kind([&] { all_to_all_v(comm, in, two, small, two); }) ==
          ErrorKind::invalid_argument);
    CHECK_FALSE(comm.broken());
  });
}

TEST_CASE("all_to_all_v: counts that disagree are a mismatch on every rank under COLT_CHECK") {
  // Rank 0 expects 2 elements from rank 1, which sends it 1.
  std::vector<std::optional<ErrorKind>> kinds(3);
  inprocess::launch(
      3,
      [&](inprocess::Communicator& comm) {
        const int r = comm.rank();
        std::vector<std::size_t> sends(3, 1), receives(3, 1);
        if (r == 0) receives[1] = 2;
        std::vector<double> in(3, 1.0 + r), out(4);
        kinds[static_cast<std::size_t>(r)] =
            error_kind([&] { all_to_all_v(comm, in, sends, out, receives); });
        CHECK_FALSE(comm.broken());  // nothing moved: every rank stopped before the data
      },
      {.check = true});
  for (const auto& kind : kinds) CHECK(kind == ErrorKind::mismatch);
}

TEST_CASE("all_to_all_v: without COLT_CHECK, counts that disagree end in an error, not a hang") {
  CHECK(error_kind([&] {
          inprocess::launch(2,
                            [&](inprocess::Communicator& comm) {
                              const int r = comm.rank();
                              std::vector<std::size_t> sends(2, 2), receives(2, 2);
                              if (r == 0) receives[1] = 3;
                              std::vector<float> in(4, 1.0f), out(5);
                              all_to_all_v(comm, in, sends, out, receives);
                            },
                            {.timeout = std::chrono::seconds(10), .check = false});
        }) == ErrorKind::mismatch);
}
