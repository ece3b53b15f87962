#pragma once
// The process's live communicators, for a dump that no call asked for: a signal the program
// chose (core/trace_signal.hpp) makes each of them write its flight recorder to its trace
// directory, for a job that is stuck without failing. Each communicator holds a registration
// for as long as it lives; a dump runs under the registry's lock, so a communicator being
// destroyed or moved waits for a dump in progress to finish before its parts go.

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

namespace colt::detail {

class TraceRegistration;

class TraceRegistry {
 public:
  static TraceRegistry& instance() {
    static TraceRegistry registry;
    return registry;
  }

  void add(TraceRegistration* r) {
    std::lock_guard lock(mutex_);
    live_.push_back(r);
  }
  void remove(TraceRegistration* r) {
    std::lock_guard lock(mutex_);
    live_.erase(std::remove(live_.begin(), live_.end(), r), live_.end());
  }

  // Has every live communicator write its trace; returns how many did.
  int dump_all();

 private:
  std::mutex mutex_;
  std::vector<TraceRegistration*> live_;
};

// A communicator's place in the registry: its address, and how to dump it (a function of the
// communicator's type, so the registry needs no template of its own).
class TraceRegistration {
 public:
  using DumpFn = bool (*)(const void* owner) noexcept;

  TraceRegistration(const void* owner, DumpFn dump) : owner_(owner), dump_(dump) {
    TraceRegistry::instance().add(this);
  }
  TraceRegistration(const TraceRegistration&) = delete;
  TraceRegistration& operator=(const TraceRegistration&) = delete;
  ~TraceRegistration() { withdraw(); }

  // The owner is going (moved from): no dump may read it from now on.
  void withdraw() {
    if (!registered_) return;
    TraceRegistry::instance().remove(this);
    registered_ = false;
  }

  // The owner is whole again (assigned to).
  void rejoin() {
    if (registered_) return;
    TraceRegistry::instance().add(this);
    registered_ = true;
  }

  bool dump() const noexcept { return dump_(owner_); }

 private:
  const void* owner_;
  DumpFn dump_;
  bool registered_ = true;
};

inline int TraceRegistry::dump_all() {
  std::lock_guard lock(mutex_);
  int written = 0;
  for (const TraceRegistration* r : live_) written += r->dump() ? 1 : 0;
  return written;
}

}  // namespace colt::detail
