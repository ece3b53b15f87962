// Fuzzes the per-rank counts of the `v` collectives (all_gather_v, reduce_scatter_v, gather_v,
// scatter_v, all_to_all_v) as their front doors check them (collectives/detail/check_args.hpp)
// and cut buffers by them (algorithms/schedule/segments.hpp). Counts are any 64-bit values, as
// a negative int converted to size_t makes them: either the check refuses them with an
// invalid-argument colt::Error, or every segment cut from them lies inside a buffer of their sum,
// back to back, and the sum fits a buffer of the element type, so no copy can run past it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "colt/algorithms/schedule/segments.hpp"
#include "colt/collectives/detail/check_args.hpp"
#include "colt/core/call_descriptor.hpp"
#include "colt/core/error.hpp"
#include "colt/core/types.hpp"
#include "colt/transport/inprocess.hpp"
#include "fuzz_input.hpp"

namespace {

template <class T>
void check_counts(const std::vector<std::size_t>& counts, int ranks, int rank) {
  using colt::fuzz::expect;
  // Rank `rank` of a group of `ranks` whose other ranks never run: the checks send nothing.
  colt::inprocess::Communicator comm(
      colt::inprocess::Transport(std::make_shared<colt::inprocess::detail::Group>(ranks), rank),
      colt::CommunicatorOptions{.check = false});
  colt::detail::ArgsCheck check(
      comm, colt::describe_call_v<T>(colt::CollectiveKind::all_gather, std::span(counts)));
  std::size_t total = 0;
  try {
    total = check.template counts<T>(counts);
  } catch (const colt::Error& e) {
    expect(e.kind() == colt::ErrorKind::invalid_argument, "refused counts are an invalid argument");
    return;
  }
  expect(total <= static_cast<std::size_t>(PTRDIFF_MAX) / sizeof(T),
         "an accepted sum fits a buffer of the element type");
  const auto segments = colt::schedule::Segments::from_counts(counts);
  std::size_t end = 0;
  for (int r = 0; r < static_cast<int>(counts.size()); ++r) {
    const colt::partition::Range range = segments[r];
    expect(range.begin == end, "segments are back to back");
    expect(range.size() == counts[static_cast<std::size_t>(r)], "a segment holds its count");
    expect(range.end <= total, "every segment lies inside a buffer of the sum");
    end = range.end;
  }
  expect(end == total, "the segments cover the sum");
  expect(segments.largest() <= total, "the largest segment fits the buffer");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  colt::fuzz::Input input(data, size);
  const int ranks = 1 + input.take<std::uint8_t>() % 8;
  const int rank = input.take<std::uint8_t>() % ranks;
  const std::uint8_t type = input.take<std::uint8_t>();
  // Each count is small, near the top of the range (a negative int's size_t), or any 64 bits:
  // the sums that wrap around sit between them.
  std::vector<std::size_t> counts(static_cast<std::size_t>(input.take<std::uint8_t>() % 10));
  for (auto& c : counts) {
    const std::uint8_t shape = input.take<std::uint8_t>() % 3;
    const auto word = input.take<std::uint64_t>();
    c = shape == 0 ? word % 4096 : shape == 1 ? ~std::size_t{0} - word % 4096 : word;
  }
  switch (type % 3) {
    case 0: check_counts<colt::half>(counts, ranks, rank); break;
    case 1: check_counts<float>(counts, ranks, rank); break;
    default: check_counts<double>(counts, ranks, rank); break;
  }
  return 0;
}
