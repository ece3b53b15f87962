// 05_parallel_inference: predicts the next character of held-out contexts with the data-parallel
// sample's model, the queries spread across ranks.
//
//   05_parallel_inference [--ranks 4] [--combine shard|vote] [--queries N] [--steps 600] ...
//
// shard (default): one model is trained data-parallel on all ranks, then rank 0's queries are
//   scattered, each rank predicts its share and the predictions are gathered back in order;
//   rank 0 checks them against predicting every query itself.
// vote: every rank trains its own replica from its own seed (a group of one, from split), every
//   replica predicts every query, and the majority vote is the answer; prints each replica's
//   accuracy next to the ensemble's.

#include <chrono>
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
#include "inference.hpp"

namespace {

constexpr const char* program = "05_parallel_inference";
constexpr const char* own_usage =
    "  --combine C          shard (default): one model, queries split across ranks;\n"
    "                       vote: one differently seeded replica per rank, majority vote\n"
    "  --queries N          held-out contexts to predict (default: all of them)\n";

struct Run {
  samples::Options common;
  bool vote = false;
  std::size_t queries = 0;  // 0: every validation example
};

Run parse(int argc, char** argv) {
  Run run;
  const auto fail = [](const char* problem) { samples::usage(program, own_usage, problem); };
  run.common = samples::parse(
      argc, argv, program, own_usage, {}, [&](std::string_view flag, const char* value) {
        const std::string_view v = value;
        if (flag == "--combine") {
          if (v == "shard")
            run.vote = false;
          else if (v == "vote")
            run.vote = true;
          else
            fail("--combine is shard or vote");
        } else if (flag == "--queries") {
          run.queries = static_cast<std::size_t>(samples::number(value, flag, fail));
        } else {
          return false;
        }
        return true;
      });
  if (run.common.train.steps == 3000)
    run.common.train.steps = 600;  // the default here: a short training
  return run;
}

double accuracy(const std::vector<std::int32_t>& predicted,
                std::span<const char_mlp::Example> queries) {
  std::size_t right = 0;
  for (std::size_t q = 0; q < queries.size(); ++q) right += predicted[q] == queries[q].target;
  return queries.empty() ? 0.0 : static_cast<double>(right) / static_cast<double>(queries.size());
}

template <class Comm>
void run(Comm& comm, const Run& r, const char_mlp::Dataset& data) {
  using clock = std::chrono::steady_clock;
  const samples::Options& o = r.common;
  const auto& validation = data.validation;
  const std::span<const char_mlp::Example> queries(
      validation.data(), r.queries ? std::min(r.queries, validation.size()) : validation.size());
  char_mlp::TrainConfig config = o.train;
  char_mlp::Model model(config.shape,
                        config.seed + (r.vote ? static_cast<std::uint64_t>(comm.rank()) : 0));
  samples::ProgressPrinter printer(config.steps, config.report_every);
  if (r.vote) {
    // Each replica alone: a group of one, its own seed for the model and the data order.
    auto alone = comm.split(comm.rank(), 0);
    config.seed += static_cast<std::uint64_t>(comm.rank());
    if (comm.rank() == 0)
      std::printf("training %s, %d steps each (rank 0's progress shown)\n",
                  samples::count_of(comm.size(), "replica").c_str(), config.steps);
    char_mlp::train(alone, data, config, model, printer);
  } else {
    if (comm.rank() == 0)
      std::printf("training one model data-parallel on %s, %d steps\n",
                  samples::count_of(comm.size(), "rank").c_str(), config.steps);
    char_mlp::train(comm, data, config, model, printer);
  }

  const auto started = clock::now();
  const std::vector<std::int32_t> predicted =
      r.vote ? inference::predict_vote(comm, model, queries)
             : inference::predict_sharded(comm, model, queries);
  const double seconds = std::chrono::duration<double>(clock::now() - started).count();

  // Each replica's own accuracy, for the vote (gathered at rank 0), or the single-rank check.
  std::vector<std::int32_t> own(r.vote || comm.rank() == 0 ? queries.size() : 0);
  if (!own.empty()) model.predict(queries, own);
  double mine = r.vote ? accuracy(own, queries) : 0.0;
  std::vector<double> each(static_cast<std::size_t>(comm.size()));
  colt::gather(comm, std::span<const double>(&mine, 1), each, 0);
  if (comm.rank() != 0) return;

  std::printf("%zu queries on %s (%s) in %.1f ms: %.0f queries/s\n", queries.size(),
              samples::count_of(comm.size(), "rank").c_str(),
              r.vote ? "majority vote of every replica" : "scattered, predicted, gathered",
              1e3 * seconds, static_cast<double>(queries.size()) / seconds);
  if (r.vote) {
    std::printf("accuracy of each replica:");
    for (double a : each) std::printf(" %.1f%%", 100 * a);
    std::printf("; of the vote: %.1f%%\n", 100 * accuracy(predicted, queries));
  } else {
    std::printf("accuracy %.1f%%; identical to predicting every query on one rank, in order: %s\n",
                100 * accuracy(predicted, queries), predicted == own ? "yes" : "NO");
  }
  std::printf("first predictions:");
  for (std::size_t q = 0; q < std::min<std::size_t>(8, queries.size()); ++q) {
    std::string context;
    for (int c = 0; c < config.shape.context; ++c)
      context += char_mlp::char_of(queries[q].context[static_cast<std::size_t>(c)]);
    std::printf(" %s->%c", context.c_str(), char_mlp::char_of(predicted[q]));
  }
  std::printf("\n");
  if (!r.vote && predicted != own)
    throw std::runtime_error("sharded predictions differ from single-rank ones");
}

}  // namespace

int main(int argc, char** argv) {
  const Run r = parse(argc, argv);
  return samples::run_on_ranks(
      argc, argv, program, own_usage, r.common,
      [&](auto& comm, const char_mlp::Dataset& data) { run(comm, r, data); });
}
