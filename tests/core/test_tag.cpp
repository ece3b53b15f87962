// Message tags: fields round-trip, the value stays a non-negative int, sequence and step wrap.

#include <doctest/doctest.h>

#include <colt/core/detail/left_call.hpp>
#include <colt/core/tag.hpp>
#include <colt/transport/mpi/tag_fold.hpp>

#include <cstdint>
#include <random>
#include <set>
#include <string_view>

#include "random.hpp"

namespace {

using colt::CollectiveKind;
using colt::Tag;

constexpr CollectiveKind all_kinds[] = {
    CollectiveKind::point_to_point, CollectiveKind::all_reduce,     CollectiveKind::reduce_scatter,
    CollectiveKind::all_gather,     CollectiveKind::broadcast,      CollectiveKind::reduce,
    CollectiveKind::scatter,        CollectiveKind::gather,         CollectiveKind::barrier,
    CollectiveKind::split,          CollectiveKind::internal,       CollectiveKind::argument_check,
    CollectiveKind::all_to_all,     CollectiveKind::mismatch_notice};

constexpr std::uint32_t max_sequence = 0xFFFF;
constexpr std::uint32_t max_step = 0x3FF;

}  // namespace

static_assert(Tag::make(CollectiveKind::internal, max_sequence, max_step).as_int() >= 0);
static_assert(Tag::make(CollectiveKind::all_reduce, 5, 3).kind() == CollectiveKind::all_reduce);
static_assert(Tag::make(CollectiveKind::all_reduce, 5, 3).with_step(9).step() == 9);

TEST_CASE("Tag::make round-trips kind, sequence and step; value non-negative as int") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  for (CollectiveKind kind : all_kinds) {
    CAPTURE(static_cast<int>(kind));
    // Extremes.
    for (std::uint32_t seq : {0u, 1u, max_sequence - 1, max_sequence}) {
      for (std::uint32_t step : {0u, 1u, max_step - 1, max_step}) {
        CAPTURE(seq);
        CAPTURE(step);
        const Tag t = Tag::make(kind, seq, step);
        REQUIRE(t.kind() == kind);
        REQUIRE(t.sequence() == seq);
        REQUIRE(t.step() == step);
        REQUIRE((t.value & 0x80000000u) == 0);
        REQUIRE(t.as_int() >= 0);
        REQUIRE(static_cast<std::uint32_t>(t.as_int()) == t.value);
      }
    }
    // Random values in range.
    for (int i = 0; i < 2000; ++i) {
      const auto seq = static_cast<std::uint32_t>(rng() & max_sequence);
      const auto step = static_cast<std::uint32_t>(rng() & max_step);
      CAPTURE(seq);
      CAPTURE(step);
      const Tag t = Tag::make(kind, seq, step);
      REQUIRE(t.kind() == kind);
      REQUIRE(t.sequence() == seq);
      REQUIRE(t.step() == step);
      REQUIRE(t.as_int() >= 0);
    }
  }
  // Default step is 0.
  CHECK(Tag::make(CollectiveKind::broadcast, 77).step() == 0);
}

TEST_CASE("Tag: sequence wraps at 65536 and step at 1024, without touching other fields") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed + 1);
  for (CollectiveKind kind : all_kinds) {
    CAPTURE(static_cast<int>(kind));
    CHECK(Tag::make(kind, max_sequence + 1, 0) == Tag::make(kind, 0, 0));
    CHECK(Tag::make(kind, 0, max_step + 1) == Tag::make(kind, 0, 0));
    CHECK(Tag::make(kind, 0xFFFFFFFFu, 0xFFFFFFFFu) == Tag::make(kind, max_sequence, max_step));
    for (int i = 0; i < 2000; ++i) {
      const auto seq = static_cast<std::uint32_t>(rng());
      const auto step = static_cast<std::uint32_t>(rng());
      CAPTURE(seq);
      CAPTURE(step);
      const Tag t = Tag::make(kind, seq, step);
      REQUIRE(t.kind() == kind);
      REQUIRE(t.sequence() == seq % 65536);
      REQUIRE(t.step() == step % 1024);
      REQUIRE(t.as_int() >= 0);
      REQUIRE(t == Tag::make(kind, seq & max_sequence, step & max_step));
    }
  }
}

TEST_CASE("Tag::with_step changes only the step") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed + 2);
  for (CollectiveKind kind : all_kinds) {
    for (int i = 0; i < 2000; ++i) {
      const auto seq = static_cast<std::uint32_t>(rng());
      const auto step = static_cast<std::uint32_t>(rng());
      const auto new_step = static_cast<std::uint32_t>(rng());
      CAPTURE(static_cast<int>(kind));
      CAPTURE(seq);
      CAPTURE(step);
      CAPTURE(new_step);
      const Tag t = Tag::make(kind, seq, step);
      const Tag u = t.with_step(new_step);
      REQUIRE(u.kind() == kind);
      REQUIRE(u.sequence() == t.sequence());
      REQUIRE(u.step() == (new_step & max_step));
      REQUIRE(u.as_int() >= 0);
      REQUIRE((u.value & ~max_step) == (t.value & ~max_step));
      REQUIRE(u == Tag::make(kind, seq, new_step));
    }
  }
}

TEST_CASE("Tag: different fields give different tags") {
  std::set<std::uint32_t> seen;
  for (CollectiveKind kind : all_kinds)
    for (std::uint32_t seq : {0u, 1u, 2u, 1000u, max_sequence})
      for (std::uint32_t step : {0u, 1u, 2u, 511u, max_step})
        CHECK(seen.insert(Tag::make(kind, seq, step).value).second);
}

TEST_CASE("name_of(CollectiveKind): non-empty and distinct for each kind") {
  std::set<std::string_view> names;
  for (CollectiveKind kind : all_kinds) {
    const std::string_view name = colt::name_of(kind);
    CAPTURE(static_cast<int>(kind));
    CHECK(!name.empty());
    CHECK(name != "unknown");
    CHECK(names.insert(name).second);
  }
  CHECK(colt::name_of(CollectiveKind::all_reduce) == "all_reduce");
  CHECK(colt::name_of(CollectiveKind::broadcast) == "broadcast");
}

TEST_CASE("TagFold: folded tags fit MPI's range, keep the kind, and compare alike unfolded") {
  // MPI's minimum, Open MPI over UCX, MPICH 4, and a whole 31-bit range (Open MPI over ob1).
  for (const std::uint32_t upper : {32767u, (1u << 23) - 1, (1u << 28) - 1, 0x7FFFFFFFu}) {
    CAPTURE(upper);
    const colt::mpi::TagFold fold(upper);
    CHECK(fold.whole() == (upper == 0x7FFFFFFFu));
    std::set<int> folded;
    for (CollectiveKind kind : all_kinds)
      for (std::uint32_t seq : {0u, 1u, 2u, 255u, max_sequence})
        for (std::uint32_t step : {0u, 1u, 511u, max_step}) {
          const Tag tag = Tag::make(kind, seq, kind == CollectiveKind::point_to_point ? 0 : step);
          const int f = fold.fold(tag);
          CAPTURE(tag.value);
          REQUIRE(f >= 0);
          REQUIRE(static_cast<std::uint32_t>(f) <= upper);
          const Tag back = fold.unfold(f);
          CHECK(back.kind() == kind);  // another collective's message never matches, and shows
          if (kind != CollectiveKind::point_to_point) CHECK(back.step() == tag.step());
          if (fold.whole()) CHECK(back == tag);
          folded.insert(f);
        }
    // Point-to-point user tags survive whole where 16 bits fit below the kind.
    if (upper >= (1u << 20) - 1)
      CHECK(fold.unfold(fold.fold(Tag::make(CollectiveKind::point_to_point, 65535))).sequence() ==
            65535);
    // The same call of two collectives reads as a mismatch after a fold, the same collective not.
    const auto seen = [&](Tag t) { return fold.unfold(fold.fold(t)); };
    const Tag all_reduce = Tag::make(CollectiveKind::all_reduce, 4097, 3);
    CHECK(!colt::detail::other_collective(seen(all_reduce),
                                          seen(Tag::make(CollectiveKind::split, 4097, 0)), 1)
               .empty());
    CHECK(colt::detail::other_collective(seen(all_reduce),
                                         seen(Tag::make(CollectiveKind::all_reduce, 4097, 9)), 1)
              .empty());
  }
}

TEST_CASE("left_call: another collective, or a later call, is a mismatch; an earlier one is not") {
  using colt::detail::left_call;
  const Tag mine = Tag::make(CollectiveKind::all_reduce, 10, 2);
  CHECK(left_call(mine, Tag::make(CollectiveKind::all_reduce, 10), 1).empty());
  CHECK(left_call(mine, Tag::make(CollectiveKind::broadcast, 9), 1).empty());  // still to come
  CHECK(!left_call(mine, Tag::make(CollectiveKind::broadcast, 10), 1).empty());
  CHECK(!left_call(mine, Tag::make(CollectiveKind::all_reduce, 11), 1).empty());
  CHECK(left_call(mine, Tag::make(CollectiveKind::point_to_point, 10), 1).empty());  // a user tag
  // Across the sequence's wrap at 2^16: 65535 is just behind 0, 0 just ahead of 65535.
  CHECK(
      left_call(Tag::make(CollectiveKind::barrier, 0), Tag::make(CollectiveKind::barrier, 65535), 1)
          .empty());
  CHECK(!left_call(Tag::make(CollectiveKind::barrier, 65535), Tag::make(CollectiveKind::barrier, 0),
                   1)
             .empty());
  // left() answers what left_call explains, without building the text (the waits' slow path).
  for (const Tag theirs :
       {Tag::make(CollectiveKind::all_reduce, 10), Tag::make(CollectiveKind::broadcast, 9),
        Tag::make(CollectiveKind::broadcast, 10), Tag::make(CollectiveKind::all_reduce, 11),
        Tag::make(CollectiveKind::point_to_point, 10),
        Tag::make(CollectiveKind::all_reduce, 40000)})
    CHECK(colt::detail::left(mine, theirs) == !left_call(mine, theirs, 1).empty());
}
