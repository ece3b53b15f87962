// Fuzzes what a split reads from its exchange (colt/transport/detail/split_part.hpp, used by the
// in-process and UCX transports, and UCX's context-id agreement in colt/transport/ucx.hpp): the
// other ranks' records are arbitrary words from peers. This rank's own record is what `split`
// writes locally (a non-negative int color, an int key, a proposal in range). The result must be
// a well-formed group containing this rank; a bad context-id proposal must be a colt::Error.

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "colt/core/error.hpp"
#include "colt/transport/detail/split_part.hpp"
#include "colt/transport/ucx.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using colt::fuzz::expect;
  colt::fuzz::Input input(data, size);
  const int ranks = 1 + input.take<std::uint8_t>() % 64;
  const int rank = input.take<std::uint8_t>() % ranks;
  const bool ucx = input.take<std::uint8_t>() % 2 == 1;  // UCX's records carry a third word
  const std::size_t stride = ucx ? 3 : 2;

  std::vector<std::int64_t> records(stride * static_cast<std::size_t>(ranks));
  for (auto& word : records) word = input.take<std::int64_t>();
  std::int64_t* mine = records.data() + stride * static_cast<std::size_t>(rank);
  mine[0] = input.take<std::int32_t>() & 0x7FFFFFFF;
  mine[1] = input.take<std::int32_t>();
  if (ucx) mine[2] = 1 + input.take<std::uint16_t>() % colt::ucx::abort_context;

  const colt::detail::SplitPart part = colt::detail::split_part(records, stride, rank);
  const auto& members = part.members;
  const auto record = [&](int r) { return records.data() + stride * static_cast<std::size_t>(r); };
  expect(part.rank >= 0 && static_cast<std::size_t>(part.rank) < members.size(),
         "this rank's place is in the group");
  expect(members[static_cast<std::size_t>(part.rank)] == rank, "the place is this rank's");
  std::size_t same_color = 0;
  for (int r = 0; r < ranks; ++r) same_color += record(r)[0] == mine[0] ? 1 : 0;
  expect(same_color == members.size(), "every rank of the color, once");
  for (std::size_t i = 0; i < members.size(); ++i) {
    expect(members[i] >= 0 && members[i] < ranks, "members are ranks of the group");
    expect(record(members[i])[0] == mine[0], "members share this rank's color");
    if (i > 0)
      expect(std::pair(record(members[i - 1])[1], members[i - 1]) <
                 std::pair(record(members[i])[1], members[i]),
             "members ordered by (key, rank), no repeats");
  }

  if (ucx) {
    try {
      const std::uint32_t context = colt::ucx::detail::agreed_context(records, members, rank);
      for (const int q : members) {
        const std::int64_t proposal = record(q)[2];
        expect(proposal >= 1 && proposal <= context, "every proposal in range, the highest taken");
      }
      expect(context >= 1 && context <= colt::ucx::abort_context, "agreed context in range");
    } catch (const colt::Error& e) {
      expect(e.peer() >= 0 && e.peer() < ranks && e.peer() != rank,
             "only a peer's proposal is rejected");
    }
  }
  return 0;
}
