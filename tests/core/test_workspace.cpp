// Workspace: aligned writable scratch that grows to the largest request and never shrinks.

#include <doctest/doctest.h>

#include <colt/core/bfloat16.hpp>
#include <colt/core/half.hpp>
#include <colt/core/workspace.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "random.hpp"

namespace {

bool aligned64(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; }

// Fills the span with random values and reads them back.
template <class T>
void check_writable(std::span<T> s, std::mt19937_64& rng) {
  std::vector<T> expect(s.size());
  for (auto& x : expect) x = static_cast<T>(rng());
  std::copy(expect.begin(), expect.end(), s.begin());
  REQUIRE(std::equal(expect.begin(), expect.end(), s.begin()));
}

}  // namespace

TEST_CASE("Workspace: starts empty") {
  colt::Workspace ws;
  CHECK(ws.capacity() == 0);
  auto s = ws.get<float>(0);
  CHECK(s.size() == 0);
  CHECK(ws.capacity() == 0);
}

TEST_CASE("Workspace::get: 64-byte aligned, n elements, writable; capacity monotone") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  colt::Workspace ws;
  std::size_t largest_bytes = 0, last_capacity = 0;
  for (int i = 0; i < 300; ++i) {
    // Mostly small, sometimes large requests, of varying element sizes.
    const std::size_t n = (rng() % 8 == 0) ? rng() % 200000 : rng() % 3000;
    const int kind = static_cast<int>(rng() % 4);
    CAPTURE(i);
    CAPTURE(n);
    CAPTURE(kind);
    std::size_t bytes = 0;
    void* data = nullptr;
    switch (kind) {
      case 0: {
        auto s = ws.get<std::uint8_t>(n);
        REQUIRE(s.size() == n);
        check_writable(s, rng);
        bytes = n;
        data = s.data();
        break;
      }
      case 1: {
        auto s = ws.get<std::int32_t>(n);
        REQUIRE(s.size() == n);
        check_writable(s, rng);
        bytes = n * 4;
        data = s.data();
        break;
      }
      case 2: {
        auto s = ws.get<double>(n);
        REQUIRE(s.size() == n);
        for (auto& x : s) x = static_cast<double>(rng() % 1000003) * 0.5;
        bytes = n * 8;
        data = s.data();
        break;
      }
      default: {
        auto s = ws.get<std::uint64_t>(n);
        REQUIRE(s.size() == n);
        check_writable(s, rng);
        bytes = n * 8;
        data = s.data();
        break;
      }
    }
    largest_bytes = std::max(largest_bytes, bytes);
    if (bytes > 0) {
      REQUIRE(data != nullptr);
      REQUIRE(aligned64(data));
      REQUIRE(data == ws.data());
    }
    REQUIRE(ws.capacity() >= largest_bytes);  // grows to the largest request
    REQUIRE(ws.capacity() >= last_capacity);  // never shrinks
    last_capacity = ws.capacity();
  }
  if (ws.data()) CHECK(aligned64(ws.data()));
}

TEST_CASE("Workspace: a request within capacity does not reallocate") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed + 1);
  colt::Workspace ws;
  const std::size_t big = 5000 + rng() % 5000;
  CAPTURE(big);
  auto first = ws.get<double>(big);
  std::byte* const p = ws.data();
  const std::size_t cap = ws.capacity();
  REQUIRE(cap >= big * sizeof(double));
  REQUIRE(static_cast<void*>(first.data()) == static_cast<void*>(p));
  for (int i = 0; i < 200; ++i) {
    const std::size_t n = rng() % (big + 1);
    CAPTURE(n);
    switch (i % 4) {
      case 0: REQUIRE(static_cast<void*>(ws.get<double>(n).data()) == p); break;
      case 1: REQUIRE(static_cast<void*>(ws.get<float>(n).data()) == p); break;
      case 2: REQUIRE(static_cast<void*>(ws.get<colt::half>(n).data()) == p); break;
      default: REQUIRE(static_cast<void*>(ws.get<std::uint8_t>(n * 8).data()) == p); break;
    }
    REQUIRE(ws.data() == p);
    REQUIRE(ws.capacity() == cap);
  }
  ws.reserve(cap);  // exactly the capacity: still no reallocation
  CHECK(ws.data() == p);
  CHECK(ws.capacity() == cap);
  // Growing past it gives at least the request, still aligned.
  auto more = ws.get<std::int64_t>(big * 3);
  CHECK(more.size() == big * 3);
  CHECK(ws.capacity() >= big * 3 * sizeof(std::int64_t));
  CHECK(aligned64(ws.data()));
  check_writable(more, rng);
}

TEST_CASE("Workspace: many small growing requests stay aligned and writable") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed + 2);
  colt::Workspace ws;
  std::size_t last = 0;
  for (std::size_t n = 1; n < 5000; n += 1 + rng() % 97) {
    auto s = ws.get<std::uint16_t>(n);
    CAPTURE(n);
    REQUIRE(aligned64(s.data()));
    check_writable(s, rng);
    REQUIRE(ws.capacity() >= n * 2);
    REQUIRE(ws.capacity() >= last);
    last = ws.capacity();
  }
}
