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

#include <unistd.h>

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
#ifdef COLT_SAMPLE_WITH_MPI
#include "colt/transport/mpi.hpp"
#endif

namespace {

struct Options {
  char_mlp::TrainConfig train;
  int ranks = 4;
  std::string transport = "inprocess";
  std::string words = "/usr/share/dict/words";
  int samples = 10;
};

[[noreturn]] void usage(const char* problem) {
  if (problem) std::fprintf(stderr, "error: %s\n\n", problem);
  std::fprintf(stderr,
               "usage: 02_data_parallel_trainer [options]\n"
               "  --ranks N            in-process ranks (default 4)\n"
               "  --transport T        inprocess (default) or mpi (launch with mpiexec -n N)\n"
               "  --aggregation A      allreduce (default) or parameter-server\n"
               "  --steps N            training steps (default 3000)\n"
               "  --batch B            global batch size, split over the ranks (default 256)\n"
               "  --seed S             seed for the model, the data order and the sampled words (default 1)\n"
               "  --optimizer O        adam (default) or sgd\n"
               "  --lr X               peak learning rate (default 0.01 for adam, 0.5 for sgd)\n"
               "  --hidden H           hidden units (default 256)\n"
               "  --context C          characters of context, 1..8 (default 4)\n"
               "  --no-overlap         average gradients after backward instead of during it\n"
               "  --words FILE         word list (default /usr/share/dict/words)\n"
               "  --samples K          words to make up at the end (default 10)\n");
  std::exit(problem ? 2 : 0);
}

long number(const char* text, const char* flag) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 0) usage((std::string(flag) + " needs a non-negative integer").c_str());
  return value;
}

Options parse(int argc, char** argv) {
  Options o;
  bool lr_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") usage(nullptr);
    if (flag == "--no-overlap") {
      o.train.overlap = false;
      continue;
    }
    if (i + 1 >= argc) usage((std::string(flag) + " needs a value").c_str());
    const char* value = argv[++i];
    if (flag == "--ranks") o.ranks = static_cast<int>(number(value, argv[i - 1]));
    else if (flag == "--transport") o.transport = value;
    else if (flag == "--steps") o.train.steps = static_cast<int>(number(value, argv[i - 1]));
    else if (flag == "--batch") o.train.batch = static_cast<std::size_t>(number(value, argv[i - 1]));
    else if (flag == "--seed") o.train.seed = static_cast<std::uint64_t>(number(value, argv[i - 1]));
    else if (flag == "--hidden") o.train.shape.hidden = static_cast<int>(number(value, argv[i - 1]));
    else if (flag == "--context") o.train.shape.context = static_cast<int>(number(value, argv[i - 1]));
    else if (flag == "--samples") o.samples = static_cast<int>(number(value, argv[i - 1]));
    else if (flag == "--words") o.words = value;
    else if (flag == "--lr") {
      o.train.learning_rate = std::strtod(value, nullptr);
      lr_given = true;
    } else if (flag == "--aggregation") {
      const std::string_view a = value;
      if (a == "allreduce" || a == "all-reduce") o.train.aggregation = colt::Aggregation::all_reduce;
      else if (a == "parameter-server") o.train.aggregation = colt::Aggregation::parameter_server;
      else usage("--aggregation is allreduce or parameter-server");
    } else if (flag == "--optimizer") {
      const std::string_view a = value;
      if (a == "adam") o.train.optimizer = char_mlp::Optimizer::adam;
      else if (a == "sgd") o.train.optimizer = char_mlp::Optimizer::sgd;
      else usage("--optimizer is adam or sgd");
    } else {
      usage(("unknown option " + std::string(flag)).c_str());
    }
  }
  if (!lr_given && o.train.optimizer == char_mlp::Optimizer::sgd) o.train.learning_rate = 0.5;
  if (o.ranks < 1) usage("--ranks must be at least 1");
  if (o.train.steps < 1 || o.train.batch < 1) usage("--steps and --batch must be at least 1");
  if (o.train.shape.context < 1 || o.train.shape.context > char_mlp::max_context) usage("--context is 1..8");
  if (o.train.shape.hidden < 1) usage("--hidden must be at least 1");
  if (o.transport != "inprocess" && o.transport != "mpi") usage("--transport is inprocess or mpi");
  return o;
}

// A progress bar redrawn in place on a terminal; plain lines, about twenty per run, otherwise.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(int steps, int report_every)
      : terminal_(isatty(STDOUT_FILENO) != 0),
        line_every_(std::max(report_every, (steps / 20 + report_every - 1) / report_every * report_every)) {}

  void operator()(const char_mlp::Progress& p) {
    if (terminal_) {
      constexpr int width = 30;
      const int filled = static_cast<int>(static_cast<long>(width) * p.step / p.steps);
      std::printf("\r[%.*s%.*s] step %5d/%d  loss %.4f  %8.0f samples/s  epoch %d", filled,
                  "##############################", width - filled, "------------------------------",
                  p.step, p.steps, p.loss, p.samples_per_second, p.epoch);
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

template <class Comm>
void run(Comm& comm, const Options& o, const char_mlp::Dataset& data) {
  char_mlp::Model model(o.train.shape, o.train.seed);
  ProgressPrinter printer(o.train.steps, o.train.report_every);
  const char_mlp::TrainResult r = char_mlp::train(comm, data, o.train, model, printer);
  if (comm.rank() != 0) return;
  std::printf("trained %d steps of %zu examples on %d ranks in %.1f s\n", o.train.steps, o.train.batch,
              comm.size(), r.seconds);
  std::printf("loss: first report %.4f, last report %.4f (uniform guess: ln 27 = %.4f)\n", r.curve.front().loss,
              r.curve.back().loss, std::log(27.0));
  std::printf("train loss %.4f   validation loss %.4f\n", r.train_loss, r.validation_loss);
  colt::partition::SplitMix64 rng(o.train.seed ^ 0x5eed5eedULL);
  std::printf("%d made-up words:", o.samples);
  for (int i = 0; i < o.samples; ++i) std::printf(" %s", model.sample(rng).c_str());
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  try {
#ifdef COLT_SAMPLE_WITH_MPI
    std::optional<colt::mpi::Environment> mpi;
#endif
    Options o = parse(argc, argv);
    const auto words = char_mlp::read_words(o.words);
    const char_mlp::Dataset data = char_mlp::make_dataset(words, o.train.shape.context, o.train.seed);
    if (o.transport == "mpi") {
#ifdef COLT_SAMPLE_WITH_MPI
      mpi.emplace(argc, argv);
      auto comm = colt::mpi::world();
      if (comm.rank() == 0)
        std::printf("%zu words (%zu examples for training, %zu for validation), %d MPI ranks\n", words.size(),
                    data.train.size(), data.validation.size(), comm.size());
      run(comm, o, data);
#else
      usage("this build has no MPI: install MPICH (libmpich-dev) and rebuild");
#endif
    } else {
      std::printf("%zu words (%zu examples for training, %zu for validation), %d in-process ranks\n",
                  words.size(), data.train.size(), data.validation.size(), o.ranks);
      colt::inprocess::launch(o.ranks, [&](colt::inprocess::Communicator& comm) { run(comm, o, data); });
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "02_data_parallel_trainer: %s\n", e.what());
    return 1;
  }
  return 0;
}
