#pragma once
// The sample trainers' progress display: a bar redrawn in place on a terminal; plain lines,
// about twenty per run, otherwise (a log file, CI).

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace samples {

struct Progress {
  int step = 0;  // steps done
  int steps = 0;
  double loss = 0;  // mean training loss over the steps since the last report, all ranks
  double samples_per_second = 0;
  int epoch = 0;
};

class ProgressPrinter {
 public:
  explicit ProgressPrinter(int steps, int report_every)
      : terminal_(isatty(STDOUT_FILENO) != 0),
        line_every_(std::max(report_every,
                             (steps / 20 + report_every - 1) / report_every * report_every)) {}

  void operator()(const Progress& p) {
    if (terminal_) {
      constexpr int width = 30;
      const int filled = static_cast<int>(static_cast<long>(width) * p.step / p.steps);
      std::printf("\r[%.*s%.*s] step %5d/%d  loss %.4f  %8.0f samples/s  epoch %d", filled,
                  "##############################", width - filled,
                  "------------------------------", p.step, p.steps, p.loss, p.samples_per_second,
                  p.epoch);
      if (p.step == p.steps) std::printf("\n");
      std::fflush(stdout);
    } else if (first_ < 0 || p.step % line_every_ == 0 || p.step == p.steps) {
      std::printf("step %5d/%d  loss %.4f  %8.0f samples/s  epoch %d\n", p.step, p.steps, p.loss,
                  p.samples_per_second, p.epoch);
      std::fflush(stdout);
    }
    if (first_ < 0) first_ = p.step;
  }

 private:
  bool terminal_;
  int line_every_;
  int first_ = -1;
};

}  // namespace samples
