#pragma once
// The simulated transport's messages in flight (sim/network.hpp), by channel: one sender, one
// receiver, one tag. Tags carry a call's number and step, so most channels carry one message and
// live from its send to its receive: a 1,024-rank job makes and drops millions. So the table is
// open addressing (linear probing, deletion by backward shift) over one array, and a message
// keeps a small payload inline: std::unordered_map's node per channel, its chained buckets and a
// heap block per payload were most of such a job's time.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

namespace colt::sim::detail {

struct Message {
  std::size_t bytes = 0;
  double finish = 0;  // when its last byte is through (virtual seconds)
  bool taken = false;
  std::array<std::byte, 32> small{};  // the payload, up to 32 bytes
  std::vector<std::byte> large;       // or here

  void keep(std::span<const std::byte> data) {
    if (data.size() <= small.size())
      std::memcpy(small.data(), data.data(), data.size());
    else
      large.assign(data.begin(), data.end());
  }
  const std::byte* payload() const { return bytes <= small.size() ? small.data() : large.data(); }
};

// The messages of one channel in posting order, from messages[head] on.
struct Channel {
  std::vector<Message> messages;
  std::size_t head = 0;
  std::uint64_t first_ticket = 0;  // the posting number of messages[head]
  std::uint64_t receives_posted = 0;
  int waiter = -1;  // the receiver's fiber while it waits here

  std::size_t pending() const { return messages.size() - head; }
  Message& ticket(std::uint64_t t) {
    return messages[head + static_cast<std::size_t>(t - first_ticket)];
  }
  const Message& ticket(std::uint64_t t) const {
    return messages[head + static_cast<std::size_t>(t - first_ticket)];
  }
  bool empty() const { return pending() == 0 && receives_posted == first_ticket && waiter < 0; }
};

// Channels by key. References stay valid until the next insertion (which may grow the array).
class ChannelTable {
 public:
  static constexpr std::uint64_t no_key = ~std::uint64_t{0};  // no (sender, receiver, tag) has it

  ChannelTable() : slots_(64) {}

  Channel& operator[](std::uint64_t key) {
    if (4 * (size_ + 1) > 3 * slots_.size()) grow();
    std::size_t i = home(key);
    for (; slots_[i].key != no_key; i = next(i))
      if (slots_[i].key == key) return slots_[i].channel;
    slots_[i].key = key;
    ++size_;
    return slots_[i].channel;
  }
  Channel* find(std::uint64_t key) {
    for (std::size_t i = home(key); slots_[i].key != no_key; i = next(i))
      if (slots_[i].key == key) return &slots_[i].channel;
    return nullptr;
  }
  const Channel* find(std::uint64_t key) const {
    return const_cast<ChannelTable*>(this)->find(key);
  }
  // Removes `key`'s channel, moving later entries of its probe run back into the gap.
  void erase(std::uint64_t key) {
    std::size_t gap = home(key);
    while (slots_[gap].key != key) {
      if (slots_[gap].key == no_key) return;
      gap = next(gap);
    }
    for (std::size_t i = next(gap); slots_[i].key != no_key; i = next(i)) {
      const std::size_t want = home(slots_[i].key);
      // Entry i may move back to the gap unless its home lies after the gap, up to i.
      const bool stays = gap < i ? (gap < want && want <= i) : (gap < want || want <= i);
      if (stays) continue;
      slots_[gap] = std::move(slots_[i]);
      gap = i;
    }
    slots_[gap] = Slot{};
    --size_;
  }

 private:
  struct Slot {
    std::uint64_t key = no_key;
    Channel channel;
  };
  std::size_t home(std::uint64_t key) const {  // a 64-bit mix (MurmurHash3's finaliser)
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<std::size_t>(key) & (slots_.size() - 1);
  }
  std::size_t next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }
  void grow() {
    std::vector<Slot> old(std::exchange(slots_, std::vector<Slot>(2 * slots_.size())));
    for (Slot& s : old)
      if (s.key != no_key) {
        std::size_t i = home(s.key);
        while (slots_[i].key != no_key) i = next(i);
        slots_[i] = std::move(s);
      }
  }

  std::vector<Slot> slots_;  // a power of two, at most three quarters full
  std::size_t size_ = 0;
};

}  // namespace colt::sim::detail
