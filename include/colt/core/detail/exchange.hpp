#pragma once
// The all-to-all exchanges that run where no collective exists yet (a transport's `split`, the
// UCX bootstrap, argument checking): every rank's small record sent to every other rank over the
// transport's own point-to-point messages, under the deadline, so a missing rank is an error,
// not a hang.

#include <cstddef>
#include <span>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/tag.hpp"

namespace colt::detail {

// record_of(r) is the span holding rank r's record: this rank's on entry, every other rank's on
// return. Each record is sent whole to every peer, and arrives whole from each.
template <class Transport, class RecordOf>
void exchange_records(Transport& transport, RecordOf record_of, Tag tag, const Deadline& deadline) {
  const int size = transport.size(), rank = transport.rank();
  using Request = decltype(transport.isend(0, std::span<const std::byte>{}, tag));
  std::vector<Request> sends, receives;
  const auto mine = std::as_bytes(record_of(rank));
  for (int peer = 0; peer < size; ++peer) {
    if (peer == rank) continue;
    sends.push_back(transport.isend(peer, mine, tag));
    receives.push_back(transport.irecv(peer, std::as_writable_bytes(record_of(peer)), tag));
  }
  for (auto& r : receives) r.wait(deadline);
  for (auto& s : sends) s.wait(deadline);
}

// Records of n elements: all[rank * n .. rank * n + n) is rank's.
template <class Transport, class T>
void exchange_with_all(Transport& transport, std::span<T> all, std::size_t n, Tag tag,
                       const Deadline& deadline) {
  exchange_records(
      transport, [&](int r) { return all.subspan(static_cast<std::size_t>(r) * n, n); }, tag,
      deadline);
}

// Records of counts[r] elements, one after another in `all` (which holds their sum).
template <class Transport, class T>
void exchange_with_all_v(Transport& transport, std::span<T> all,
                         std::span<const std::size_t> counts, Tag tag, const Deadline& deadline) {
  std::vector<std::size_t> offsets(counts.size() + 1, 0);
  for (std::size_t r = 0; r < counts.size(); ++r) offsets[r + 1] = offsets[r] + counts[r];
  exchange_records(
      transport,
      [&](int r) {
        const auto q = static_cast<std::size_t>(r);
        return all.subspan(offsets[q], counts[q]);
      },
      tag, deadline);
}

}  // namespace colt::detail
