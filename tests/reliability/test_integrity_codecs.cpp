// The byte-level pieces of the reliability options: CRC32C (hardware and portable paths, known
// answers) and the call descriptor that argument checking exchanges (round trip, and every kind
// of malformed input rejected with a colt::Error naming the peer).
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "colt/core/call_descriptor.hpp"
#include "colt/core/crc32c.hpp"

using namespace colt;

namespace {
std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}
}  // namespace

TEST_CASE("crc32c: known answers (RFC 3720 test vectors and the usual check value)") {
  CHECK(crc32c(bytes_of("")) == 0u);
  CHECK(crc32c(bytes_of("123456789")) == 0xE3069283u);
  CHECK(crc32c_portable(bytes_of("123456789")) == 0xE3069283u);
  std::vector<std::byte> zeros(32, std::byte{0}), ones(32, std::byte{0xFF}), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[static_cast<std::size_t>(i)] = std::byte(i);
    down[static_cast<std::size_t>(i)] = std::byte(31 - i);
  }
  CHECK(crc32c(zeros) == 0x8A9136AAu);
  CHECK(crc32c(ones) == 0x62A8AB43u);
  CHECK(crc32c(up) == 0x46DD794Eu);
  CHECK(crc32c(down) == 0x113FDB5Cu);
}

TEST_CASE(
    "crc32c: the hardware and portable paths agree on every length and alignment, and chain") {
  std::mt19937_64 rng(7);
  std::vector<std::byte> data(5000);
  for (auto& b : data) b = std::byte(rng());
  for (std::size_t offset = 0; offset < 9; ++offset)
    for (std::size_t n : {0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4990}) {
      auto s = std::span<const std::byte>(data).subspan(offset, n);
      REQUIRE(crc32c(s) == crc32c_portable(s));
      const std::size_t half = n / 3;
      CHECK(crc32c(s.subspan(half), crc32c(s.first(half))) == crc32c(s));
    }
  // One flipped bit anywhere changes it.
  const std::uint32_t whole = crc32c(data);
  for (std::size_t i : {0, 1, 2499, 4999}) {
    data[i] ^= std::byte{0x10};
    CHECK(crc32c(data) != whole);
    data[i] ^= std::byte{0x10};
  }
}

TEST_CASE("call descriptor: encode and decode round trip") {
  std::vector<std::size_t> counts = {3, 0, 5};
  CallDescriptor d =
      describe_call_v<float, avg>(CollectiveKind::reduce_scatter, counts, no_root, Algorithm::ring);
  d.sequence = 77;
  d.flags = CallDescriptor::flag_checksum | CallDescriptor::flag_ordered;
  auto bytes = encode(d);
  CallDescriptor back = decode(bytes, 0, 1);
  CHECK(back.agrees_with(d));
  CHECK(back.count == 8);
  CHECK(back.counts_digest == counts_digest(counts));
  CHECK(to_string(back) == to_string(d));
  CHECK(to_string(back).find("reduce_scatter_v(count 8") == 0);  // a v form, by its digest
  CHECK(to_string(back).find("avg") != std::string::npos);

  CallDescriptor b = describe_call<void>(CollectiveKind::barrier, 0);
  CHECK(decode(encode(b), 0, 1).agrees_with(b));
  CHECK(!decode(encode(b), 0, 1).typed);

  CallDescriptor r = describe_call<double, max>(CollectiveKind::reduce, 5, 3);
  CHECK(decode(encode(r), 0, 1).root == 3);
  CHECK(!r.agrees_with(describe_call<double, min>(CollectiveKind::reduce, 5, 3)));
  CHECK(!r.agrees_with(describe_call<float, max>(CollectiveKind::reduce, 5, 3)));
  CHECK(!r.agrees_with(describe_call<double, max>(CollectiveKind::reduce, 6, 3)));
  CHECK(!r.agrees_with(describe_call<double, max>(CollectiveKind::reduce, 5, 2)));
}

TEST_CASE("call descriptor: malformed bytes are an Error naming the peer, never a crash") {
  const auto good = encode(describe_call<std::int32_t, sum>(CollectiveKind::all_reduce, 9));
  auto expect_rejected = [](std::span<const std::byte> bytes, const char* why) {
    CAPTURE(why);
    try {
      (void)decode(bytes, 2, 5);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::corrupt);
      CHECK(e.peer() == 5);
      CHECK(e.rank() == 2);
      CHECK(e.cause().find(why) != std::string::npos);  // which field was wrong
    }
  };
  expect_rejected(std::span(good).first(39), "39 bytes");
  // One field at a time made wrong: (byte offset, bytes written there, what the error says).
  struct Corruption {
    std::size_t at;
    std::vector<unsigned> bytes;
    const char* why;
  };
  const Corruption corruptions[] = {
      {0, {0}, "magic"},
      {4, {9}, "version 9"},
      {5, {200}, "unknown collective"},
      {6, {17}, "unknown element type"},
      {7, {99}, "unknown algorithm"},
      {8, {0x80}, "unknown flags"},
      {10, {1}, "reserved"},
      {16, {0xFF, 0xFF, 0xFF, 0x80}, "root"},
  };
  for (const Corruption& c : corruptions) {
    auto bad = good;
    for (std::size_t i = 0; i < c.bytes.size(); ++i) bad[c.at + i] = std::byte(c.bytes[i]);
    expect_rejected(bad, c.why);
  }
}
