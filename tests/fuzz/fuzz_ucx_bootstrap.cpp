// Fuzzes the UCX bootstrap's reading of worker addresses (colt/transport/ucx.hpp,
// ucx::detail::address_words and unpack_addresses): every rank's address length arrives from
// its peers, then the addresses themselves as padded 64-bit words. A length no address can have
// must be a colt::Error; any other is cut out of the words exactly, bytes and all.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "colt/core/error.hpp"
#include "colt/transport/ucx.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using colt::fuzz::expect;
  colt::fuzz::Input input(data, size);
  const int ranks = 1 + input.take<std::uint8_t>() % 16;
  const int rank = input.take<std::uint8_t>() % ranks;
  // Mostly lengths of a plausible size (so that the words get read), sometimes any 64-bit word.
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(ranks));
  for (auto& length : lengths)
    length = input.take<std::uint8_t>() % 8 == 0 ? input.take<std::int64_t>()
                                                 : input.take<std::uint16_t>();

  std::vector<std::size_t> words;
  try {
    words = colt::ucx::detail::address_words(lengths, rank);
  } catch (const colt::Error& e) {
    const auto bad = lengths[static_cast<std::size_t>(e.peer())];
    expect(bad < 0 || bad > colt::ucx::detail::max_address_bytes, "only a bad length is rejected");
    return 0;
  }
  expect(words.size() == lengths.size(), "a word count per rank");

  std::vector<std::int64_t> all(std::accumulate(words.begin(), words.end(), std::size_t{0}));
  const std::size_t filled = std::min(input.left(), all.size() * sizeof(std::int64_t));
  if (filled != 0) std::memcpy(all.data(), input.rest(), filled);
  const auto addresses = colt::ucx::detail::unpack_addresses(all, lengths, words);
  expect(addresses.size() == lengths.size(), "an address per rank");
  std::size_t offset = 0;
  for (std::size_t r = 0; r < addresses.size(); ++r) {
    expect(static_cast<std::int64_t>(addresses[r].size()) == lengths[r], "address of its length");
    expect(words[r] * 8 >= addresses[r].size() && words[r] * 8 < addresses[r].size() + 8,
           "padded to whole words");
    expect(addresses[r].empty() ||
               std::memcmp(addresses[r].data(), all.data() + offset, addresses[r].size()) == 0,
           "the address's own bytes");
    offset += words[r];
  }
  return 0;
}
