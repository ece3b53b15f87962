// Pipeline: stage plans, pipeline training of the deep sample model on 1-4 stages against
// single-rank training, GPipe against 1F1B bit for bit, activations held per schedule, and
// misuse as colt::Error.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "04_train_pipeline/trainer.hpp"
#include "colt/adapters/pipeline.hpp"
#include "colt/colt.hpp"
#include "data_parallel_cases.hpp"
#include "errors.hpp"

using namespace colt;
using colt::test::error_from;
using colt::test::error_kind;

namespace {

const char_mlp::Dataset& small_data() {
  static const char_mlp::Dataset data = [] {
    char_mlp::Dataset d = char_mlp::make_dataset(colt::test::dp::test_words(), 3, 11);
    d.train.resize(std::min<std::size_t>(d.train.size(), 400));
    d.validation.resize(std::min<std::size_t>(d.validation.size(), 100));
    return d;
  }();
  return data;
}

struct Outcome {
  std::vector<float> parameters;  // every stage's tensors, in stage order
  double validation_loss = 0;
  std::vector<int> peak_in_flight;  // per stage
};

Outcome train(int stages, const deep_mlp::PipelineConfig& config) {
  std::vector<std::vector<float>> per_stage(static_cast<std::size_t>(stages));
  Outcome out;
  out.peak_in_flight.resize(static_cast<std::size_t>(stages));
  inprocess::launch(stages, [&](inprocess::Communicator& comm) {
    Pipeline<inprocess::Transport, float> pipe(comm, deep_mlp::layout_of(config, comm.size()),
                                               {config.schedule});
    deep_mlp::Stage stage(config.shape, config.seed, pipe.layers());
    const auto r =
        deep_mlp::train(comm, stage, pipe, small_data(), config, [](const samples::Progress&) {});
    auto& mine = per_stage[static_cast<std::size_t>(comm.rank())];
    for (const samples::Tensor& t : r.tensors)
      mine.insert(mine.end(), t.value.begin(), t.value.end());
    if (comm.rank() == 0) out.validation_loss = r.validation_loss;
    // The step's peak, measured alone (the summary keeps only the largest over stages).
    stage.begin_step(std::span<const char_mlp::Example>(small_data().train).first(config.batch),
                     config.micro_batches);
    out.peak_in_flight[static_cast<std::size_t>(comm.rank())] =
        pipe.step(stage, config.micro_batches).peak_in_flight;
  });
  for (auto& p : per_stage) out.parameters.insert(out.parameters.end(), p.begin(), p.end());
  return out;
}

deep_mlp::PipelineConfig small_config() {
  deep_mlp::PipelineConfig c;
  c.shape = {3, 8, 24, 5};
  c.steps = 5;
  c.batch = 37;  // uneven micro-batches
  c.micro_batches = 4;
  c.report_every = 2;
  return c;
}

}  // namespace

TEST_CASE("StageLayout: even and explicit maps, and maps that cannot work") {
  const StageLayout even = StageLayout::even(10, 3);
  CHECK(even.layers_of(0) == partition::Range{0, 4});
  CHECK(even.layers_of(2) == partition::Range{7, 10});
  CHECK(even.stage_of(4) == 1);
  const StageLayout map = StageLayout::from_counts({5, 5});  // layers 1-5 on rank 0, 6-10 on rank 1
  CHECK(map.layers() == 10);
  CHECK(map.layers_of(1) == partition::Range{5, 10});
  CHECK(error_kind([] { StageLayout::even(2, 3); }) == ErrorKind::invalid_argument);
  CHECK(error_kind([] { StageLayout::from_counts({3, 0}); }) == ErrorKind::invalid_argument);
  CHECK(error_kind([] {
          inprocess::launch(2, [](inprocess::Communicator& comm) {
            Pipeline<inprocess::Transport, float> p(comm, StageLayout::even(6, 3));
          });
        }) == ErrorKind::invalid_argument);
}

TEST_CASE(
    "pipeline training on 1-4 stages equals single-rank training; GPipe and 1F1B agree bit for "
    "bit") {
  deep_mlp::PipelineConfig config = small_config();
  const Outcome one_rank = train(1, config);  // the same micro-batches, on one rank
  deep_mlp::PipelineConfig whole_batch = config;
  whole_batch.micro_batches = 1;
  const Outcome unpipelined = train(1, whole_batch);
  CHECK(colt::test::dp::parameter_difference(one_rank.parameters, unpipelined.parameters) < 1e-4);
  for (int stages = 1; stages <= 4; ++stages)
    for (auto schedule : {PipelineSchedule::gpipe, PipelineSchedule::one_forward_one_backward}) {
      config.schedule = schedule;
      config.layers_per_stage =
          stages == 2 ? std::vector<int>{1, 4} : std::vector<int>{};  // an explicit, uneven map
      const Outcome got = train(stages, config);
      INFO(stages << " stages, " << name_of(schedule));
      CHECK(got.parameters == one_rank.parameters);  // bit for bit: same operations, same order
      CHECK(got.validation_loss == one_rank.validation_loss);
      for (int s = 0; s < stages; ++s) {
        const int expected = schedule == PipelineSchedule::gpipe
                                 ? config.micro_batches
                                 : std::min(config.micro_batches, stages - s);
        CHECK_MESSAGE(got.peak_in_flight[static_cast<std::size_t>(s)] == expected, "stage " << s);
      }
    }
}

TEST_CASE(
    "Pipeline: more micro-batches than examples (empty micro-batches) still trains like one rank") {
  deep_mlp::PipelineConfig config = small_config();
  config.batch = 3;
  config.micro_batches = 5;
  const Outcome one_rank = train(1, config);
  CHECK(train(3, config).parameters == one_rank.parameters);
}

namespace {
// A stage whose backward returns the wrong number of input-gradient elements.
struct BrokenStage {
  std::vector<float> out = std::vector<float>(4, 1.0f);
  std::vector<float> grad = std::vector<float>(3, 0.0f);
  std::size_t input_count(int) const { return 4; }
  std::span<const float> forward(int, std::span<const float>) { return out; }
  std::span<const float> backward(int, std::span<const float>) { return grad; }
};
}  // namespace

TEST_CASE("Pipeline: a stage returning a wrong-sized gradient is a colt::Error, not a hang") {
  CHECK(error_kind([] {
          inprocess::launch(2, [](inprocess::Communicator& comm) {
            Pipeline<inprocess::Transport, float> p(comm, StageLayout::even(2, 2));
            BrokenStage stage;
            p.step(stage, 2);
          });
        }) == ErrorKind::invalid_argument);
  CHECK(error_kind([] {
          inprocess::launch(1, [](inprocess::Communicator& comm) {
            Pipeline<inprocess::Transport, float> p(comm, StageLayout::even(2, 1));
            BrokenStage stage;
            p.step(stage, 0);
          });
        }) == ErrorKind::invalid_argument);
}
