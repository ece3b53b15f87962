// 02_data_parallel_trainer: trains a character-level MLP to make up English-looking words, data
// parallel over N ranks with colt::DataParallel, then prints the training and validation loss
// and ten words it made up.
//
//   02_data_parallel_trainer [--ranks 4] [--steps N] [--batch 256] [--seed 1]
//                            [--aggregation allreduce|parameter-server] [--optimizer adam|sgd]
//                            [--lr 0.01] [--no-overlap] [--words /usr/share/dict/words]
//                            [--shard 0|1|2|3 [--layers L] [--no-prefetch] [--wire bfloat16]]
//   mpiexec -n 4 02_data_parallel_trainer --transport mpi ...
//
// In-process ranks are threads of this process (the default); with --transport mpi every MPI
// process is one rank. Each rank reads the word list, builds the same examples, and trains on
// its share of every global batch.
//
// --shard trains a deeper MLP (--layers tanh layers) with its model state sharded over the
// ranks (ZeRO stage 1, 2 or 3, colt::ShardedDataParallel) or, with 0, replicated by plain
// DataParallel, and prints the bytes each rank held at its peak: parameters, gradients and
// optimizer state, as the adapters counted them.

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
#include "sharded_trainer.hpp"
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
    "  --no-overlap         average gradients after backward instead of during it\n"
    "  --shard S            0 (plain DataParallel) or ZeRO stage 1, 2, 3, on the layered MLP\n"
    "  --layers L           tanh layers of the layered MLP (default 1; with --shard)\n"
    "  --no-prefetch        stage 3: gather each layer only when it is needed\n"
    "  --wire W             float32 (default) or bfloat16: the sharded stages' wire type\n"
    "  --eval N             with --shard: final losses over the first N examples (0: all)\n";

struct ShardFlags {
  bool given = false;
  char_mlp::ShardingConfig config;
};

samples::Options parse(int argc, char** argv, ShardFlags& shard) {
  char_mlp::TrainConfig extra;
  samples::Options o = samples::parse(
      argc, argv, program, own_usage, {"--no-overlap", "--no-prefetch"},
      [&](std::string_view flag, const char* value) {
        const std::string_view a = value ? value : "";
        const auto fail = [&](const char* problem) { samples::usage(program, own_usage, problem); };
        if (flag == "--no-overlap")
          extra.overlap = false;
        else if (flag == "--no-prefetch")
          shard.config.prefetch = false;
        else if (flag == "--shard") {
          shard.given = true;
          shard.config.stage = static_cast<int>(samples::number(value, flag, fail));
          if (shard.config.stage > 3) fail("--shard is 0, 1, 2 or 3");
        } else if (flag == "--layers") {
          shard.config.layers = static_cast<int>(samples::number(value, flag, fail));
          if (shard.config.layers < 1) fail("--layers must be at least 1");
        } else if (flag == "--eval") {
          shard.config.eval_examples = static_cast<std::size_t>(samples::number(value, flag, fail));
        } else if (flag == "--wire") {
          if (a == "float32")
            shard.config.wire = colt::ShardWire::float32;
          else if (a == "bfloat16")
            shard.config.wire = colt::ShardWire::bfloat16;
          else
            fail("--wire is float32 or bfloat16");
        } else if (flag == "--aggregation") {
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

std::string mib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", static_cast<double>(bytes) / (1 << 20));
  return text;
}

template <class Comm>
void run_sharded(Comm& comm, const samples::Options& o, const char_mlp::ShardingConfig& sharding,
                 const char_mlp::Dataset& data) {
  samples::ProgressPrinter printer(o.train.steps, o.train.report_every);
  const char_mlp::ShardedResult r = char_mlp::train_sharded(comm, data, o.train, sharding, printer);
  if (comm.rank() != 0) return;
  const char_mlp::LayeredModel shape_only(o.train.shape, sharding.layers, 0);
  std::printf(
      "%s on %d ranks: %zu parameters in %d layers, %d steps of %zu examples in %.1f s "
      "(median step %.2f ms)\n",
      sharding.stage == 0 ? "plain DataParallel"
                          : ("ZeRO stage " + std::to_string(sharding.stage)).c_str(),
      comm.size(), shape_only.parameter_count(), sharding.layers, o.train.steps, o.train.batch,
      r.train.seconds, r.median_step_seconds * 1e3);
  std::printf("train loss %.4f   validation loss %.4f\n", r.train.train_loss,
              r.train.validation_loss);
  std::printf(
      "peak bytes held per rank (MiB): rank, parameters, gradients, optimizer state, "
      "buffers, all at once\n");
  for (std::size_t rank = 0; rank < r.peaks.size(); ++rank) {
    const char_mlp::HeldPeak& p = r.peaks[rank];
    std::printf("  %zu  %s  %s  %s  %s  %s\n", rank, mib(p.parameters).c_str(),
                mib(p.gradients).c_str(), mib(p.optimizer_state).c_str(), mib(p.buffers).c_str(),
                mib(p.total).c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  ShardFlags shard;
  const samples::Options o = parse(argc, argv, shard);
  return samples::run_on_ranks(argc, argv, program, own_usage, o,
                               [&](auto& comm, const char_mlp::Dataset& data) {
                                 if (shard.given)
                                   run_sharded(comm, o, shard.config, data);
                                 else
                                   run(comm, o, data);
                               });
}
