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

// counts[from][to]: the elements rank `from` sends rank `to`. Checks both forms against the
// reference: rank r's output is every rank's segment for r, in rank order.
using CountMatrix = std::vector<std::vector<std::size_t>>;

template <class T>
void matrix_case(const CountMatrix& counts, std::uint64_t seed) {
  const int p = static_cast<int>(counts.size());
  CAPTURE(p);
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  std::vector<std::vector<T>> inputs;
  for (int r = 0; r < p; ++r) {
    std::size_t sent = 0;
    for (int to = 0; to < p; ++to)
      sent += counts[static_cast<std::size_t>(r)][static_cast<std::size_t>(to)];
    inputs.push_back(test::random_buffer<T>(rng, sent));
  }
  auto count = [&](int from, int to) {
    return counts[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)];
  };
  inprocess::launch(p, [&](inprocess::Communicator& comm) {
    const int r = comm.rank();
    std::vector<std::size_t> sends, receives;
    for (int q = 0; q < p; ++q) {
      sends.push_back(count(r, q));
      receives.push_back(count(q, r));
    }
    std::size_t received = 0;
    for (auto c : receives) received += c;
    std::vector<T> out(received + 3), started(received + 3);  // room to spare is allowed
    all_to_all_v(comm, inputs[static_cast<std::size_t>(r)], sends, out, receives);
    iall_to_all_v(comm, inputs[static_cast<std::size_t>(r)], sends, started, receives).wait();
    std::vector<T> expected;
    for (int from = 0; from < p; ++from) {
      std::size_t offset = 0;  // where rank `from`'s segment for r starts in its input
      for (int to = 0; to < r; ++to) offset += count(from, to);
      const auto& source = inputs[static_cast<std::size_t>(from)];
      for (std::size_t i = 0; i < count(from, r); ++i) expected.push_back(source[offset + i]);
    }
    CHECK(test::same_bits<T>(std::span<const T>(out).first(received), expected));
    CHECK(test::same_bits<T>(std::span<const T>(started).first(received), expected));
  });
}

template <class T>
void v_case(int p, std::size_t scale, std::uint64_t seed) {
  CountMatrix counts(static_cast<std::size_t>(p),
                     std::vector<std::size_t>(static_cast<std::size_t>(p)));
  for (int from = 0; from < p; ++from)
    for (int to = 0; to < p; ++to)
      counts[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)] =
          v_count(from, to, scale);
  matrix_case<T>(counts, seed);
}

// Mixture-of-experts traffic: most entries zero, some ranks sending nothing at all (a zero row),
// some receiving nothing (a zero column), and the last rank doing neither.
CountMatrix sparse_counts(int p, std::mt19937_64& rng) {
  const auto n = static_cast<std::size_t>(p);
  CountMatrix counts(n, std::vector<std::size_t>(n));
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<std::size_t> size(1, 300);
  std::vector<bool> silent_row(n), silent_column(n);
  for (std::size_t r = 0; r < n; ++r) {
    silent_row[r] = r + 1 == n || percent(rng) < 30;
    silent_column[r] = r + 1 == n || percent(rng) < 30;
  }
  for (std::size_t from = 0; from < n; ++from)
    for (std::size_t to = 0; to < n; ++to)
      if (!silent_row[from] && !silent_column[to] && percent(rng) < 25)
        counts[from][to] = size(rng);
  return counts;
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

TEST_CASE("all_to_all_v: a rank with nothing to send or receive (as MPI_Alltoallv accepts)") {
  // Rank 0 keeps one element for itself; rank 1 has nothing at all (issue 34).
  matrix_case<float>({{1, 0}, {0, 0}}, test::base_seed() + 5);
  matrix_case<float>({{0, 0}, {0, 0}}, test::base_seed() + 6);
  matrix_case<double>({{0, 0, 0}, {0, 4, 0}, {0, 0, 0}}, test::base_seed() + 7);
}

TEST_CASE_TEMPLATE("all_to_all_v: sparse count matrices, 1..8 ranks", T, float, std::int64_t,
                   half) {
  std::mt19937_64 rng(test::base_seed() + 11);
  for (int p = 1; p <= 8; ++p)
    for (int trial = 0; trial < 3; ++trial)
      matrix_case<T>(sparse_counts(p, rng),
                     test::base_seed() + static_cast<std::uint64_t>(p * 10 + trial));
}

TEST_CASE("all_to_all_v: counts whose sum wraps around are refused, never written past") {
  // A count computed as a negative int and converted to size_t (issue 34): without the bound,
  // 2 + (size_t)-2 wraps to 0 and passes the size checks.
  for (const bool check : {false, true}) {
    CAPTURE(check);
    std::vector<std::optional<ErrorKind>> kinds(2);
    inprocess::launch(2,
                      [&](inprocess::Communicator& comm) {
                        const std::size_t minus_two = static_cast<std::size_t>(-2);
                        std::vector<std::size_t> sends = {2, minus_two}, receives = {2, minus_two};
                        std::vector<float> in(1, 1.0f), out(1);
                        kinds[static_cast<std::size_t>(comm.rank())] =
                            error_kind([&] { all_to_all_v(comm, in, sends, out, receives); });
                      },
                      {.timeout = std::chrono::seconds(10), .check = check});
    for (const auto& kind : kinds) CHECK(kind == ErrorKind::invalid_argument);
  }
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

TEST_CASE("all_to_all_v: int counts, as MPI programs keep them; a negative one is refused") {
  inprocess::launch(3, [&](inprocess::Communicator& comm) {
    const int r = comm.rank();
    // Rank r sends r + 1 elements to each rank.
    std::vector<int> sends(3, r + 1), receives = {1, 2, 3};
    std::vector<std::int64_t> in(static_cast<std::size_t>(3 * (r + 1)), 10 * r + 7), out(6);
    all_to_all_v(comm, in, sends, out, receives);
    CHECK(out == std::vector<std::int64_t>{7, 17, 17, 27, 27, 27});
    std::vector<std::int64_t> started(6);
    iall_to_all_v(comm, in, sends, started, receives).wait();
    CHECK(started == out);
    std::vector<int> negative = {1, -2, 1};
    const auto error = test::error_from([&] { all_to_all_v(comm, in, negative, out, receives); });
    REQUIRE(error);
    CHECK(error->kind() == ErrorKind::invalid_argument);
    CHECK(error->collective() == "all_to_all_v");
    CHECK(error->cause().find("-2 is negative") != std::string::npos);
  });
}
