// 03_train_tensor_parallel: the data-parallel sample's character MLP with its hidden layer split
// across ranks (tensor parallelism, Megatron-LM style), optionally on a 2-D grid of
// data-parallel x tensor-parallel ranks. Prints the same progress as the data-parallel sample,
// then the losses, the communication per step and ten made-up words.
//
//   03_train_tensor_parallel [--ranks 2] [--tensor-parallel T] [--steps N] [--hidden 256] ...
//   03_train_tensor_parallel --ranks 4 --tensor-parallel 2     # 2 data-parallel x 2
//   tensor-parallel mpiexec -n 2 03_train_tensor_parallel --transport mpi

#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "../common/launch.hpp"
#include "../common/options.hpp"
#include "../common/progress.hpp"
#include "../common/text.hpp"
#include "colt/colt.hpp"
#include "trainer.hpp"

namespace {

constexpr const char* program = "03_train_tensor_parallel";
constexpr const char* own_usage =
    "  --tensor-parallel T  ranks sharing one model's hidden layer (default: all ranks); the\n"
    "                       others form data-parallel groups of ranks/T\n";

struct Run {
  samples::Options common;
  int tensor_parallel = 0;  // 0: every rank
};

Run parse(int argc, char** argv) {
  Run run;
  run.common = samples::parse(
      argc, argv, program, own_usage, {}, [&](std::string_view flag, const char* value) {
        if (flag != "--tensor-parallel") return false;
        run.tensor_parallel = static_cast<int>(samples::number(
            value, flag, [](const char* problem) { samples::usage(program, own_usage, problem); }));
        return true;
      });
  if (run.common.train.steps == 3000)
    run.common.train.steps = 1500;  // the default here: a shorter run
  return run;
}

template <class Comm>
void run(Comm& world, const Run& r, const char_mlp::Dataset& data) {
  const samples::Options& o = r.common;
  const int tp = r.tensor_parallel ? r.tensor_parallel : world.size();
  const tensor_parallel::Grid grid = tensor_parallel::grid_of(world.size(), tp);
  if (world.rank() == 0)
    std::printf("%s: %d data-parallel x %d tensor-parallel; hidden layer of %d split %d ways\n",
                samples::count_of(world.size(), "rank").c_str(), grid.data_parallel,
                grid.tensor_parallel, o.train.shape.hidden, grid.tensor_parallel);
  samples::ProgressPrinter printer(o.train.steps, o.train.report_every);
  std::vector<std::string> words;
  const auto result =
      tensor_parallel::train(world, tp, data, o.train, printer, [&](auto& model, auto&) {
        colt::partition::SplitMix64 rng(o.train.seed ^ 0x5eed5eedULL);
        for (int i = 0; i < o.samples; ++i) words.push_back(model.sample(rng));
      });
  if (world.rank() != 0) return;
  const auto& b = result.base;
  std::printf("trained %d steps of %zu examples on %s in %.1f s (%.2f ms per step)\n",
              o.train.steps, o.train.batch, samples::count_of(world.size(), "rank").c_str(),
              b.seconds, 1e3 * b.seconds / o.train.steps);
  std::printf("loss: first report %.4f, last report %.4f (uniform guess: ln 27 = %.4f)\n",
              b.curve.front().loss, b.curve.back().loss, std::log(27.0));
  std::printf("train loss %.4f   validation loss %.4f\n", b.train_loss, b.validation_loss);
  std::printf(
      "all-reduce payload per rank and step: tensor-parallel %.1f KiB (logits + input gradient)",
      static_cast<double>(result.payload_bytes_per_step) / 1024.0);
  if (grid.data_parallel > 1)
    std::printf(", data-parallel %.1f KiB (this rank's gradients)",
                static_cast<double>(result.gradient_bytes_per_step) / 1024.0);
  std::printf("\n");
  if (o.samples == 0) return;
  std::printf("%s:", samples::count_of(o.samples, "made-up word").c_str());
  for (const std::string& w : words) std::printf(" %s", w.c_str());
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const Run r = parse(argc, argv);
  return samples::run_on_ranks(
      argc, argv, program, own_usage, r.common,
      [&](auto& comm, const char_mlp::Dataset& data) { run(comm, r, data); });
}
