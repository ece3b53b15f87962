#pragma once
// Deadlines: every blocking wait in colt has one, so a lost peer becomes a colt::Error instead
// of a hang. A deadline remembers its budget so the error can say how long it waited.

#include <chrono>
#include <cstdio>
#include <string>

#include "colt/core/flight_recorder.hpp"

namespace colt {

using Clock = std::chrono::steady_clock;

struct Deadline {
  Clock::time_point at;
  Clock::duration budget;
  // The watchdog: a wait still blocked `warn_after` into its budget says so on stderr, and
  // again at doubling intervals (warn_still_waiting), long before the timeout ends it. Zero:
  // never. The schedule is the deadline's own, so each wait has its own.
  Clock::duration warn_after{};
  mutable Clock::time_point next_warning{};
  mutable Clock::duration warning_gap{};

  static Deadline after(Clock::duration budget, Clock::duration warn_after = {}) {
    const Clock::time_point now = Clock::now();
    return {now + budget, budget, warn_after, now + warn_after, warn_after};
  }
  bool passed(Clock::time_point now = Clock::now()) const { return now >= at; }
  // True when a wait that is still blocked should warn now; the next warning then comes twice
  // as long after this one.
  bool warning_due(Clock::time_point now = Clock::now()) const {
    if (warn_after <= Clock::duration::zero() || now < next_warning) return false;
    warning_gap *= 2;
    next_warning = now + warning_gap;
    return true;
  }
  // How long the wait has lasted.
  double waited_seconds(Clock::time_point now = Clock::now()) const {
    return std::chrono::duration<double>(now - (at - budget)).count();
  }

  // "1.5 s": the budget as people read it in an error message.
  std::string budget_text() const {
    char text[32];
    (void)std::snprintf(text, sizeof text, "%.3g s", std::chrono::duration<double>(budget).count());
    return text;
  }
};

// The watchdog's line: which rank waits, for how long so far, on whom and in which call (`what`,
// as describe_message words it). Every transport's wait loop prints it where it checks its
// deadline, when `deadline.warning_due()` (so the words are made only then).
// The flight recorder's entry of the call notes `peer` (no_peer: not one peer).
inline void warn_still_waiting(const Deadline& deadline, int rank, int peer,
                               const std::string& what, Clock::time_point now = Clock::now()) {
  FlightRecorder::waiting_on(peer);
  (void)std::fprintf(stderr,
                     "colt WARN rank %d: still waiting after %.3g s (timeout %s) while %s\n", rank,
                     deadline.waited_seconds(now), deadline.budget_text().c_str(), what.c_str());
}

}  // namespace colt
