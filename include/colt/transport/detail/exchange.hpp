#pragma once
// The all-to-all exchange a transport's `split` starts with: every rank's small record sent to
// every other rank over the transport's own point-to-point messages, under the deadline (so a
// missing rank is an error, not a hang). Used where no collective exists yet to do it.

#include <cstddef>
#include <span>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/tag.hpp"

namespace colt::detail {

// all[rank * n .. rank * n + n) holds this rank's record on entry; every other rank's on return.
template <class Transport, class T>
void exchange_with_all(Transport& transport, std::span<T> all, std::size_t n, Tag tag,
                       const Deadline& deadline) {
  const int size = transport.size(), rank = transport.rank();
  using Request = decltype(transport.isend(0, std::span<const std::byte>{}, tag));
  std::vector<Request> sends, receives;
  const auto mine = std::as_bytes(all.subspan(static_cast<std::size_t>(rank) * n, n));
  for (int peer = 0; peer < size; ++peer) {
    if (peer == rank) continue;
    sends.push_back(transport.isend(peer, mine, tag));
    receives.push_back(transport.irecv(
        peer, std::as_writable_bytes(all.subspan(static_cast<std::size_t>(peer) * n, n)), tag));
  }
  for (auto& r : receives) r.wait(deadline);
  for (auto& s : sends) s.wait(deadline);
}

}  // namespace colt::detail
