// 04_train_pipeline: a deeper character MLP whose layers are split across ranks as pipeline
// stages; each step's batch flows through them in micro-batches, on a GPipe or 1F1B schedule.
// Prints the same progress as the data-parallel sample, then the loss, the time per step and
// the pipeline bubble it measured next to the ideal (p - 1) / (M + p - 1).
//
//   04_train_pipeline [--ranks 2] [--layers 6] [--stages 3,3] [--micro-batches 4]
//                     [--schedule 1f1b|gpipe] [--steps 600] ...
//   mpiexec -n 2 04_train_pipeline --transport mpi

#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "../common/launch.hpp"
#include "../common/options.hpp"
#include "../common/progress.hpp"
#include "../common/text.hpp"
#include "colt/colt.hpp"
#include "trainer.hpp"

namespace {

constexpr const char* program = "04_train_pipeline";
constexpr const char* own_usage =
    "  --layers L           dense layers (default 6)\n"
    "  --stages A,B,...     layers per stage, one stage per rank (default: as even as possible)\n"
    "  --micro-batches M    micro-batches per step (default 4)\n"
    "  --schedule S         1f1b (default) or gpipe\n";

struct Run {
  samples::Options common;
  deep_mlp::PipelineConfig pipeline;
};

Run parse(int argc, char** argv) {
  Run run;
  const auto fail = [](const char* problem) { samples::usage(program, own_usage, problem); };
  run.common = samples::parse(
      argc, argv, program, own_usage, {}, [&](std::string_view flag, const char* value) {
        const std::string_view v = value;
        if (flag == "--layers")
          run.pipeline.shape.layers = static_cast<int>(samples::number(value, flag, fail));
        else if (flag == "--micro-batches")
          run.pipeline.micro_batches = static_cast<int>(samples::number(value, flag, fail));
        else if (flag == "--schedule") {
          if (v == "1f1b")
            run.pipeline.schedule = colt::PipelineSchedule::one_forward_one_backward;
          else if (v == "gpipe")
            run.pipeline.schedule = colt::PipelineSchedule::gpipe;
          else
            fail("--schedule is 1f1b or gpipe");
        } else if (flag == "--stages") {
          std::string item;
          for (const char c : std::string(v) + ",") {
            if (c != ',') {
              item += c;
              continue;
            }
            run.pipeline.layers_per_stage.push_back(
                static_cast<int>(samples::number(item.c_str(), flag, fail)));
            item.clear();
          }
        } else {
          return false;
        }
        return true;
      });
  if (run.pipeline.micro_batches < 1) fail("--micro-batches must be at least 1");
  const samples::Options& o = run.common;
  run.pipeline.shape.context = o.train.shape.context;
  run.pipeline.shape.embed = o.train.shape.embed;
  if (o.train.shape.hidden != 256)
    run.pipeline.shape.hidden = o.train.shape.hidden;  // else the deep default
  if (o.train.steps != 3000) run.pipeline.steps = o.train.steps;
  run.pipeline.batch = o.train.batch;
  run.pipeline.seed = o.train.seed;
  if (o.lr_given) run.pipeline.learning_rate = o.train.learning_rate;
  if (run.common.ranks == 4 && run.common.transport == "inprocess")
    run.common.ranks = 2;  // default: 2 stages
  return run;
}

template <class Comm>
void run(Comm& comm, const Run& r, const char_mlp::Dataset& data) {
  const deep_mlp::PipelineConfig& c = r.pipeline;
  colt::Pipeline<typename Comm::transport_type, float> pipe(
      comm, deep_mlp::layout_of(c, comm.size()), {c.schedule});
  deep_mlp::Stage stage(c.shape, c.seed, pipe.layers());
  if (comm.rank() == 0) {
    std::printf("%s of %d units on %s:", samples::count_of(c.shape.layers, "dense layer").c_str(),
                c.shape.hidden, samples::count_of(comm.size(), "stage").c_str());
    for (int s = 0; s < comm.size(); ++s) {
      const auto l = pipe.layout().layers_of(s);
      std::printf(" [%zu-%zu]", l.begin, l.end - 1);
    }
    std::printf("; %s per step, %s schedule\n",
                samples::count_of(c.micro_batches, "micro-batch", "micro-batches").c_str(),
                colt::name_of(c.schedule));
  }
  samples::ProgressPrinter printer(c.steps, c.report_every);
  const deep_mlp::PipelineResult result = deep_mlp::train(comm, stage, pipe, data, c, printer);
  if (comm.rank() != 0) return;
  const double p = comm.size(), m = c.micro_batches;
  std::printf("trained %d steps of %zu examples in %.1f s (pipeline %.2f ms per step)\n", c.steps,
              c.batch, result.seconds, 1e3 * result.pipeline.seconds / c.steps);
  std::printf(
      "loss: first report %.4f, last report %.4f; validation loss %.4f (uniform guess: ln 27 = "
      "%.4f)\n",
      result.curve.front().loss, result.curve.back().loss, result.validation_loss, std::log(27.0));
  std::printf(
      "bubble: measured %.1f%%, ideal (p-1)/(M+p-1) = %.1f%%; at most %d micro-batches' "
      "activations held\n",
      100 * result.pipeline.bubble, 100 * (p - 1) / (m + p - 1), result.pipeline.peak_in_flight);
}

}  // namespace

int main(int argc, char** argv) {
  const Run r = parse(argc, argv);
  return samples::run_on_ranks(
      argc, argv, program, own_usage, r.common,
      [&](auto& comm, const char_mlp::Dataset& data) { run(comm, r, data); });
}
