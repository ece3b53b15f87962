#pragma once
// Bounds on how long a failing call took. They tell "ended by its cause" (an abort, a dead peer,
// its own timeout) from "hung" or "waited for a later deadline"; they are not speeds, which are
// benchmarks' business. A CI machine runs four test programs at once on 2 cores, and a ready
// thread can wait off its core for a second or more, so every bound leaves this much for the
// scheduler, and a test that tells "at once" from "at the deadline" sets a deadline longer than
// the slack.

#include <chrono>

namespace colt::test {

inline constexpr double scheduling_slack_s = 3.0;

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// At most this long for a wait that a `timeout_s` deadline, or something sooner, ends.
inline constexpr double within(double timeout_s) { return timeout_s + scheduling_slack_s; }

}  // namespace colt::test
