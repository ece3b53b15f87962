#pragma once
// Pipeline: model parallelism across layers (GPipe, PipeDream-Flush). A model's layers are cut
// into consecutive stages, one per rank; each step's batch is cut into micro-batches that flow
// through the stages, activations forward and gradients backward, so stages work at once.
//
// Per step, stage s of p with M micro-batches runs one of two schedules:
// - GPipe: the forwards of all M micro-batches, then all M backwards. Every stage holds the
//   activations of all M micro-batches at its peak.
// - 1F1B (one forward, one backward; Narayanan et al., PipeDream-Flush): p - s - 1 warm-up
//   forwards, then forward and backward alternate, then the remaining backwards. The same bubble
//   as GPipe, but a stage holds at most p - s micro-batches' activations, however large M.
// Both give the same gradients bit for bit: backwards run in micro-batch order 0..M-1 in both,
// so every stage accumulates in the same order.
//
// The bubble is the idle share of the pipeline, 1 - (sum of busy time) / (p x step time);
// for equal stages it is (p - 1) / (M + p - 1) for either schedule. `step` measures it.
//
// The adapter owns no model. The caller's stage object provides, for micro-batch m:
//   std::size_t input_count(int m)        elements it receives from the previous stage
//                                          (not asked on the first stage)
//   std::span<const T> forward(int m, std::span<const T> input)
//       runs its layers; returns the activation to send on (ignored on the last stage). `input`
//       (empty on the first stage, which reads its own data) stays valid until backward(m)
//       returns; the returned span must too.
//   std::span<const T> backward(int m, std::span<const T> output_grad)
//       output_grad is dL/d(output) (empty on the last stage, which starts from its loss); adds
//       its layers' gradients; returns dL/d(input), input_count(m) elements (ignored on the
//       first stage), valid until its next backward call.
// Gradients accumulate over micro-batches in the caller's buffers; the optimizer steps after
// `step` returns. `step` is collective over the pipeline's ranks.

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "colt/adapters/detail/own_communicator.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/barrier.hpp"
#include "colt/collectives/send_recv.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/error.hpp"
#include "colt/core/ops.hpp"
#include "colt/core/partition.hpp"
#include "colt/core/request.hpp"
#include "colt/core/types.hpp"

namespace colt {

enum class PipelineSchedule : unsigned char { gpipe, one_forward_one_backward };

constexpr const char* name_of(PipelineSchedule s) noexcept {
  return s == PipelineSchedule::gpipe ? "gpipe" : "1f1b";
}

// Which consecutive layers each stage runs.
class StageLayout {
 public:
  // `layers` split as evenly as possible (the first layers % stages stages get one more).
  static StageLayout even(int layers, int stages) {
    if (layers < 1 || stages < 1 || stages > layers)
      throw Error(ErrorKind::invalid_argument, Operation::stage_layout, Error::no_rank,
                  "cannot place " + std::to_string(layers) + " layers on " +
                      std::to_string(stages) + " stages (each stage needs at least one layer)");
    std::vector<int> counts(static_cast<std::size_t>(stages));
    for (int s = 0; s < stages; ++s)
      counts[static_cast<std::size_t>(s)] =
          static_cast<int>(partition::range(static_cast<std::size_t>(layers), stages, s).size());
    return from_counts(counts);
  }

  // An explicit map: stage s runs counts[s] layers, following stage s - 1's ({5, 5}: layers
  // 0-4 on stage 0, 5-9 on stage 1).
  static StageLayout from_counts(const std::vector<int>& counts) {
    if (counts.empty())
      throw Error(ErrorKind::invalid_argument, Operation::stage_layout, Error::no_rank,
                  "needs at least one stage");
    StageLayout layout;
    layout.first_.push_back(0);
    for (std::size_t s = 0; s < counts.size(); ++s) {
      if (counts[s] < 1)
        throw Error(ErrorKind::invalid_argument, Operation::stage_layout, Error::no_rank,
                    "stage " + std::to_string(s) + " has " + std::to_string(counts[s]) +
                        " layers; each needs one or more");
      layout.first_.push_back(layout.first_.back() + counts[s]);
    }
    return layout;
  }

  int stages() const { return static_cast<int>(first_.size()) - 1; }
  int layers() const { return first_.back(); }
  // Layers [begin, end) of `stage`.
  partition::Range layers_of(int stage) const {
    const auto s = static_cast<std::size_t>(stage);
    return {static_cast<std::size_t>(first_[s]), static_cast<std::size_t>(first_[s + 1])};
  }
  int stage_of(int layer) const {
    return static_cast<int>(std::upper_bound(first_.begin(), first_.end(), layer) -
                            first_.begin()) -
           1;
  }

 private:
  std::vector<int> first_;  // first layer of each stage, then the layer count
};

// Its name before issue 36 ("plan" now means only the algorithm plan, colt::Plan).
using StagePlan = StageLayout;

// What one rank measured in one step.
struct PipelineStats {
  double seconds = 0;       // wall time of the step (from a common start when measuring)
  double busy_seconds = 0;  // inside the stage's forward and backward calls
  int peak_in_flight = 0;   // micro-batches forwarded and not yet backwarded, at most
  double bubble() const { return seconds > 0 ? std::max(0.0, 1.0 - busy_seconds / seconds) : 0.0; }
};

// The whole pipeline's step: step time is the slowest stage's, the bubble is the idle share of
// p x that time, and peak_in_flight the largest over stages.
struct PipelineSummary {
  double seconds = 0;
  double bubble = 0;
  int peak_in_flight = 0;
};

template <class S, class T>
concept PipelineStage = requires(S& s, int m, std::span<const T> data) {
  { s.input_count(m) } -> std::convertible_to<std::size_t>;
  { s.forward(m, data) } -> std::convertible_to<std::span<const T>>;
  { s.backward(m, data) } -> std::convertible_to<std::span<const T>>;
};

struct PipelineOptions {
  PipelineSchedule schedule = PipelineSchedule::one_forward_one_backward;
  // Start every step with a barrier, so the stages' clocks start together and the bubble is
  // measured from a common start. Costs one barrier per step.
  bool measure = true;
};

template <Transport X, Element T>
class Pipeline {
 public:
  // Collective. Stage s runs on rank s of `comm`; the layout must have exactly comm.size() stages.
  // It runs on its own dup of `comm`, so activations never meet the caller's messages.
  Pipeline(Communicator<X>& comm, StageLayout layout, PipelineOptions options = {})
      : layout_(checked(std::move(layout), comm)), options_(options), comm_(comm) {}

  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  // Messages a failed step left pending are cancelled, not waited for until their deadline.
  ~Pipeline() { cancel_pending(); }

  int stage() const { return comm_->rank(); }
  int stages() const { return comm_->size(); }
  bool first_stage() const { return stage() == 0; }
  bool last_stage() const { return stage() == stages() - 1; }
  const StageLayout& layout() const { return layout_; }
  partition::Range layers() const { return layout_.layers_of(stage()); }
  PipelineSchedule schedule() const { return options_.schedule; }

  // One training step of `micro_batches` micro-batches through every stage.
  template <PipelineStage<T> S>
  PipelineStats step(S& stage_object, int micro_batches) {
    if (micro_batches < 1)
      throw Error(ErrorKind::invalid_argument, Operation::pipeline_step, Error::Rank{stage()},
                  "needs at least one micro-batch, got " + std::to_string(micro_batches));
    try {
      return run(stage_object, micro_batches);
    } catch (const Error& e) {
      throw e.operation() == Operation::unnamed ? e.in_collective(Operation::pipeline) : e;
    }
  }

  // Collective: the pipeline-wide view of every stage's `mine`.
  PipelineSummary summarize(const PipelineStats& mine) {
    double busy = mine.busy_seconds;
    double most[2] = {mine.seconds, static_cast<double>(mine.peak_in_flight)};
    all_reduce(*comm_, std::span<double>(&busy, 1), sum{});
    all_reduce(*comm_, std::span<double>(most), max{});
    PipelineSummary s;
    s.seconds = most[0];
    s.peak_in_flight = static_cast<int>(most[1]);
    s.bubble = most[0] > 0 ? std::max(0.0, 1.0 - busy / (most[0] * stages())) : 0.0;
    return s;
  }

 private:
  using clock = std::chrono::steady_clock;

  // Between two stages, activations flow one way and gradients the other, each in micro-batch
  // order; the two tags keep them apart should a stage ever send both ways to one peer.
  static constexpr int activation_tag = 0, gradient_tag = 1;

  // The layout, checked before the collective dup (own_communicator.hpp).
  static StageLayout checked(StageLayout layout, const Communicator<X>& comm) {
    if (layout.stages() != comm.size())
      throw Error(ErrorKind::invalid_argument, Operation::pipeline, Error::Rank{comm.rank()},
                  "the layout has " + std::to_string(layout.stages()) + " stages for " +
                      std::to_string(comm.size()) + " ranks; it needs one stage per rank");
    return layout;
  }

  // The order of this stage's operations: m >= 0 is forward(m), ~m (negative) is backward(m).
  void build_order(int micro_batches) {
    order_.clear();
    const int M = micro_batches;
    if (options_.schedule == PipelineSchedule::gpipe) {
      for (int m = 0; m < M; ++m) order_.push_back(m);
      for (int m = 0; m < M; ++m) order_.push_back(~m);
      return;
    }
    const int warmup = std::min(stages() - stage() - 1, M);
    for (int m = 0; m < warmup; ++m) order_.push_back(m);
    for (int i = 0; i + warmup < M; ++i) {
      order_.push_back(warmup + i);
      order_.push_back(~i);
    }
    for (int m = M - warmup; m < M; ++m) order_.push_back(~m);
  }

  void cancel_pending() noexcept {
    for (auto* requests : {&input_receives_, &output_sends_, &grad_receives_}) {
      for (auto& r : *requests)
        if (r) r->cancel();
      requests->clear();  // waits for each to end: at once, once cancelled
    }
  }

  // Readies the buffers, requests and order of a step of M micro-batches; returns the number
  // of buffer slots (a micro-batch holds one from its forward to its backward).
  int prepare(int M) {
    const int slots =
        options_.schedule == PipelineSchedule::gpipe ? M : std::min(M, stages() - stage());
    const auto n_slots = static_cast<std::size_t>(slots);
    if (inputs_.size() < n_slots) {
      inputs_.resize(n_slots);
      output_grads_.resize(n_slots);
    }
    cancel_pending();  // what a failed step left
    for (auto* requests : {&input_receives_, &output_sends_, &grad_receives_})
      requests->resize(n_slots);
    build_order(M);
    return slots;
  }

  // Waits for one of the step's messages; a size that differs names the micro-batch.
  void finish(Request& message, int peer, const char* what, int m) const {
    try {
      message.wait();
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::mismatch) throw;
      throw Error(ErrorKind::mismatch, Operation::pipeline, Error::Rank{stage()}, Error::Peer{peer},
                  std::string(what) + " of micro-batch " + std::to_string(m) + ": " + e.cause());
    }
  }

  template <class S>
  PipelineStats run(S& stage_object, int M) {
    const int s = stage();
    const bool first = first_stage(), last = last_stage();
    const int slots = prepare(M);
    std::optional<Request> grad_send;

    int next_input = 0;
    auto post_input = [&](int m) {
      const auto slot = static_cast<std::size_t>(m % slots);
      inputs_[slot].resize(stage_object.input_count(m));
      input_receives_[slot].emplace(
          irecv(*comm_, std::span<T>(inputs_[slot]), s - 1, activation_tag));
    };

    if (options_.measure) barrier(*comm_);
    PipelineStats stats;
    const auto started = clock::now();
    int in_flight = 0;
    if (!first)
      for (; next_input < slots; ++next_input) post_input(next_input);

    for (const int op : order_) {
      if (op >= 0) {
        const int m = op;
        const auto slot = static_cast<std::size_t>(m % slots);
        std::span<const T> input;
        if (!first) {
          finish(*input_receives_[slot], s - 1, "activation", m);
          input_receives_[slot].reset();
          input = inputs_[slot];
        }
        const auto t = clock::now();
        const std::span<const T> output = stage_object.forward(m, input);
        stats.busy_seconds += std::chrono::duration<double>(clock::now() - t).count();
        stats.peak_in_flight = std::max(stats.peak_in_flight, ++in_flight);
        if (!last) {
          output_sends_[slot].emplace(isend(*comm_, output, s + 1, activation_tag));
          output_grads_[slot].resize(output.size());
          grad_receives_[slot].emplace(
              irecv(*comm_, std::span<T>(output_grads_[slot]), s + 1, gradient_tag));
        }
      } else {
        const int m = ~op;
        const auto slot = static_cast<std::size_t>(m % slots);
        std::span<const T> output_grad;
        if (!last) {
          finish(*grad_receives_[slot], s + 1, "gradient", m);
          finish(*output_sends_[slot], s + 1, "activation", m);  // the caller's memory is free
          grad_receives_[slot].reset();
          output_sends_[slot].reset();
          output_grad = output_grads_[slot];
        }
        if (grad_send) {  // the caller's previous gradient buffer is about to be reused
          finish(*grad_send, s - 1, "gradient", m);
          grad_send.reset();
        }
        const auto t = clock::now();
        const std::span<const T> input_grad = stage_object.backward(m, output_grad);
        stats.busy_seconds += std::chrono::duration<double>(clock::now() - t).count();
        --in_flight;
        if (!first) {
          if (input_grad.size() != inputs_[slot].size())
            throw Error(ErrorKind::invalid_argument, Operation::pipeline, Error::Rank{s},
                        "backward of micro-batch " + std::to_string(m) + " returned " +
                            std::to_string(input_grad.size()) +
                            " input-gradient elements for an input of " +
                            std::to_string(inputs_[slot].size()));
          grad_send.emplace(isend(*comm_, input_grad, s - 1, gradient_tag));
          if (next_input < M) post_input(next_input++);  // this micro-batch's slot is free again
        }
      }
    }
    if (grad_send) finish(*grad_send, s - 1, "gradient", M - 1);
    stats.seconds = std::chrono::duration<double>(clock::now() - started).count();
    return stats;
  }

  StageLayout layout_;
  PipelineOptions options_;
  detail::OwnCommunicator<X> comm_;
  std::vector<int> order_;
  // Per slot, reused across steps (they grow to the largest micro-batch, then stay).
  std::vector<std::vector<T>> inputs_;        // activations received from the previous stage
  std::vector<std::vector<T>> output_grads_;  // gradients received from the next stage
  std::vector<std::optional<Request>> input_receives_, output_sends_, grad_receives_;
};

}  // namespace colt
