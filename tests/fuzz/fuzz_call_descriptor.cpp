// Fuzzes colt/core/call_descriptor.hpp's decode, which reads the argument-checking descriptor a
// peer sent (COLT_CHECK): any bytes either decode to a descriptor that encodes back to the very
// same bytes and can be printed, or are rejected with a colt::Error naming the peer.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "colt/core/call_descriptor.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using colt::fuzz::expect;
  const auto bytes = std::as_bytes(std::span(data, size));
  colt::CallDescriptor d;
  try {
    d = colt::decode(bytes, 0, 3);
  } catch (const colt::Error& e) {
    expect(e.peer() == 3 && e.rank() == 0, "a rejection names the receiving rank and the peer");
    return 0;
  }
  const auto again = colt::encode(d);
  expect(size == again.size() && std::equal(again.begin(), again.end(), bytes.begin()),
         "an accepted descriptor encodes back to the bytes it came from");
  expect(colt::decode(again, 0, 3).agrees_with(d), "decoding is stable");
  const std::string text = colt::to_string(d);
  expect(!text.empty(), "an accepted descriptor can be printed");
  return 0;
}
