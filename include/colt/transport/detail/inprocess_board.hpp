#pragma once
// The notice board of an in-process group: small messages that are copied when posted, so a
// send completes without its receiver, and that stay readable after the group was aborted. The
// survivors of a failure agree on who failed over it (core/detail/failure_agreement.hpp), after
// the abort that ended everyone's waits on the group's ordinary messages.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <span>
#include <tuple>
#include <vector>

namespace colt::inprocess::detail {

class Board {
 public:
  void post(int from, int to, std::uint32_t tag, std::span<const std::byte> bytes) {
    std::lock_guard lock(mutex_);
    notes_[{from, to, tag}].emplace_back(bytes.begin(), bytes.end());
  }

  // Moves the oldest note from `from` to `to` under `tag` into `out`, and returns its size
  // (larger than `out` when it did not fit: then nothing was copied); -1 when there is none.
  std::ptrdiff_t take(int from, int to, std::uint32_t tag, std::span<std::byte> out) {
    std::lock_guard lock(mutex_);
    auto found = notes_.find({from, to, tag});
    if (found == notes_.end() || found->second.empty()) return -1;
    const std::vector<std::byte>& note = found->second.front();
    const auto size = static_cast<std::ptrdiff_t>(note.size());
    if (note.size() <= out.size()) {
      if (!note.empty()) std::memcpy(out.data(), note.data(), note.size());
      found->second.pop_front();
    }
    return size;
  }

 private:
  std::mutex mutex_;
  std::map<std::tuple<int, int, std::uint32_t>, std::deque<std::vector<std::byte>>> notes_;
};

}  // namespace colt::inprocess::detail
