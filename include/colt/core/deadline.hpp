#pragma once
// Deadlines: every blocking wait in colt has one, so a lost peer becomes a colt::Error instead
// of a hang. A deadline remembers its budget so the error can say how long it waited.

#include <chrono>
#include <cstdio>
#include <string>

namespace colt {

using Clock = std::chrono::steady_clock;

struct Deadline {
  Clock::time_point at;
  Clock::duration budget;

  static Deadline after(Clock::duration budget) { return {Clock::now() + budget, budget}; }
  bool passed(Clock::time_point now = Clock::now()) const { return now >= at; }

  // "1.5 s": the budget as people read it in an error message.
  std::string budget_text() const {
    char text[32];
    (void)std::snprintf(text, sizeof text, "%.3g s", std::chrono::duration<double>(budget).count());
    return text;
  }
};

}  // namespace colt
