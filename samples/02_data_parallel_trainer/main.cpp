// 02_data_parallel_trainer: trains a character-level MLP to make up English-looking words, data
// parallel over N ranks with colt::DataParallel, then prints the training and validation loss
// and ten words it made up.
//
//   02_data_parallel_trainer [--ranks 4] [--steps N] [--batch 256] [--seed 1]
//                            [--aggregation allreduce|parameter-server] [--optimizer adam|sgd]
//                            [--lr 0.01] [--no-overlap] [--words /usr/share/dict/words]
//   mpiexec -n 4 02_data_parallel_trainer --transport mpi ...
//
// In-process ranks are threads of this process (the default); with --transport mpi every MPI
// process is one rank. Each rank reads the word list, builds the same examples, and trains on
// its share of every global batch.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "char_mlp.hpp"
#include "colt/colt.hpp"
#include "trainer.hpp"
#include "words.hpp"
#include "../common/launch.hpp"
#include "../common/options.hpp"
#include "../common/progress.hpp"

namespace {

constexpr const char* program = "02_data_parallel_trainer";
constexpr const char* own_usage =
    "  --aggregation A      allreduce (default) or parameter-server\n"
    "  --optimizer O        adam (default) or sgd (default --lr 0.5)\n"
    "  --no-overlap         average gradients after backward instead of during it\n";

samples::Options parse(int argc, char** argv) {
  char_mlp::TrainConfig extra;
  samples::Options o = samples::parse(
      argc, argv, program, own_usage, {"--no-overlap"},
      [&](std::string_view flag, const char* value) {
        const std::string_view a = value ? value : "";
        if (flag == "--no-overlap")
          extra.overlap = false;
        else if (flag == "--aggregation") {
          if (a == "allreduce" || a == "all-reduce")
            extra.aggregation = colt::Aggregation::all_reduce;
          else if (a == "parameter-server")
            extra.aggregation = colt::Aggregation::parameter_server;
          else
            samples::usage(program, own_usage, "--aggregation is allreduce or parameter-server");
        } else if (flag == "--optimizer") {
          if (a == "adam")
            extra.optimizer = char_mlp::Optimizer::adam;
          else if (a == "sgd")
            extra.optimizer = char_mlp::Optimizer::sgd;
          else
            samples::usage(program, own_usage, "--optimizer is adam or sgd");
        } else {
          return false;
        }
        return true;
      });
  o.train.overlap = extra.overlap;
  o.train.aggregation = extra.aggregation;
  o.train.optimizer = extra.optimizer;
  if (!o.lr_given && o.train.optimizer == char_mlp::Optimizer::sgd) o.train.learning_rate = 0.5;
  return o;
}

template <class Comm>
void run(Comm& comm, const samples::Options& o, const char_mlp::Dataset& data) {
  char_mlp::Model model(o.train.shape, o.train.seed);
  samples::ProgressPrinter printer(o.train.steps, o.train.report_every);
  const char_mlp::TrainResult r = char_mlp::train(comm, data, o.train, model, printer);
  if (comm.rank() != 0) return;
  std::printf("trained %d steps of %zu examples on %d ranks in %.1f s\n", o.train.steps,
              o.train.batch, comm.size(), r.seconds);
  std::printf("loss: first report %.4f, last report %.4f (uniform guess: ln 27 = %.4f)\n",
              r.curve.front().loss, r.curve.back().loss, std::log(27.0));
  std::printf("train loss %.4f   validation loss %.4f\n", r.train_loss, r.validation_loss);
  colt::partition::SplitMix64 rng(o.train.seed ^ 0x5eed5eedULL);
  std::printf("%d made-up words:", o.samples);
  for (int i = 0; i < o.samples; ++i) std::printf(" %s", model.sample(rng).c_str());
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const samples::Options o = parse(argc, argv);
  return samples::run_on_ranks(
      argc, argv, program, own_usage, o,
      [&](auto& comm, const char_mlp::Dataset& data) { run(comm, o, data); });
}
