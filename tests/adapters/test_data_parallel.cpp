// DataParallel on in-process ranks: averages through mixed buckets, weighting, unused tensors,
// both aggregations, no_sync, 16-bit overflow, errors, and the sample trainer's equivalence with
// single-rank training on the same global batches.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "colt/adapters/data_parallel.hpp"
#include "data_parallel_cases.hpp"
#include "errors.hpp"

using namespace colt;
using namespace colt::test;

namespace {

template <class Fn>
void check_on_ranks(int ranks, const std::string& label, Fn fn) {
  std::vector<dp::Outcome> outcomes(static_cast<std::size_t>(ranks));
  inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
    outcomes[static_cast<std::size_t>(comm.rank())] = fn(comm);
  });
  for (int r = 0; r < ranks; ++r) {
    const std::string& error = outcomes[static_cast<std::size_t>(r)].error;
    CHECK_MESSAGE(error.empty(), label << ", " << ranks << " ranks: " << error);
    CHECK_MESSAGE(
        outcomes[static_cast<std::size_t>(r)].result == outcomes[0].result,
        label << ", " << ranks << " ranks: rank " << r << "'s result differs from rank 0's");
  }
}

std::string describe(const DataParallelOptions& o) {
  return std::string(o.aggregation == Aggregation::all_reduce ? "all-reduce"
                                                              : "parameter server ") +
         (o.aggregation == Aggregation::parameter_server ? std::to_string(o.server)
                                                         : std::string()) +
         (o.overlap ? ", overlapped" : ", after backward") +
         (o.low_precision == LowPrecision::prescale ? ", 16-bit prescaled" : ", 16-bit in float") +
         ", cap " + std::to_string(o.bucket_cap_bytes);
}

}  // namespace

TEST_CASE("DataParallel averages mixed buckets exactly, with every aggregation and option") {
  for (int ranks = 1; ranks <= 4; ++ranks)
    for (Aggregation aggregation : {Aggregation::all_reduce, Aggregation::parameter_server})
      for (bool overlap : {true, false})
        for (LowPrecision low : {LowPrecision::accumulate_in_float, LowPrecision::prescale})
          for (std::size_t cap : {std::size_t{2048}, std::size_t{25} << 20}) {
            dp::MixedCase c;
            c.options.aggregation = aggregation;
            c.options.server =
                aggregation == Aggregation::parameter_server ? (cap == 2048 ? -1 : ranks - 1) : 0;
            c.options.overlap = overlap;
            c.options.low_precision = low;
            c.options.bucket_cap_bytes = cap;
            c.seed = static_cast<std::uint64_t>(ranks * 100 + static_cast<int>(cap % 7));
            check_on_ranks(ranks, describe(c.options),
                           [&](auto& comm) { return dp::mixed_buckets(comm, c); });
          }
}

TEST_CASE(
    "DataParallel: weighted averaging by sample counts gives the global mean (a rank with none)") {
  for (int ranks = 1; ranks <= 5; ++ranks)
    for (Aggregation aggregation : {Aggregation::all_reduce, Aggregation::parameter_server}) {
      dp::MixedCase c;
      c.options.weighted = true;
      c.options.aggregation = aggregation;
      c.options.bucket_cap_bytes = 2048;
      c.unequal_weights = true;
      check_on_ranks(ranks, "weighted " + describe(c.options),
                     [&](auto& comm) { return dp::mixed_buckets(comm, c); });
    }
}

TEST_CASE("DataParallel: unmarked (unused) tensors contribute zeros and never hang a step") {
  for (int ranks = 1; ranks <= 4; ++ranks)
    for (bool weighted : {false, true}) {
      dp::MixedCase c;
      c.options.weighted = weighted;
      c.unequal_weights = weighted;
      c.options.bucket_cap_bytes = 2048;
      c.unused = true;  // their buffers hold NaN: reading one would poison the average
      check_on_ranks(ranks, std::string("unused tensors") + (weighted ? ", weighted" : ""),
                     [&](auto& comm) { return dp::mixed_buckets(comm, c); });
    }
}

TEST_CASE("DataParallel: 16-bit gradients whose sum overflows half average without overflow") {
  for (int ranks : {2, 4, 7})
    for (LowPrecision low : {LowPrecision::accumulate_in_float, LowPrecision::prescale})
      check_on_ranks(ranks, low == LowPrecision::prescale ? "half prescaled" : "half in float",
                     [&](auto& comm) { return dp::half_without_overflow(comm, low); });
}

TEST_CASE("DataParallel: no_sync accumulation over micro-batches equals one big batch") {
  for (int ranks = 1; ranks <= 4; ++ranks)
    for (int micro : {1, 3})
      check_on_ranks(ranks, "no_sync with " + std::to_string(micro) + " micro-batches",
                     [&](auto& comm) { return dp::no_sync_accumulation(comm, micro); });
}

TEST_CASE("DataParallel: broadcast_parameters makes every replica root's, across packed buckets") {
  for (int ranks = 1; ranks <= 4; ++ranks)
    check_on_ranks(ranks, "broadcast_parameters", [&](auto& comm) {
      DataParallelOptions options;
      options.bucket_cap_bytes = 64;
      const float r = static_cast<float>(comm.rank());
      std::vector<float> a(3, r + 0.5f), ga(3), b(100, r + 1.25f), gb(100);
      std::vector<double> c(5, r * 3.0 + 0.75), gc(5);
      std::vector<bfloat16> d(9, bfloat16(r + 2.0f)), gd(9);
      DataParallel<inprocess::Transport> dp(comm, options);
      dp.add(std::span(a), std::span(ga));
      dp.add(std::span(b), std::span(gb));
      dp.add(std::span(c), std::span(gc));
      dp.add(std::span(d), std::span(gd));
      const int root = comm.size() - 1;
      dp.broadcast_parameters(root);
      dp::Outcome out;
      const float R = static_cast<float>(root);
      if (a[2] != R + 0.5f || b[99] != R + 1.25f || c[4] != R * 3.0 + 0.75 ||
          static_cast<float>(d[8]) != R + 2.0f)
        out.error = "rank " + std::to_string(comm.rank()) + " does not hold root " +
                    std::to_string(root) + "'s parameters";
      out.append(std::as_bytes(std::span(a)));
      out.append(std::as_bytes(std::span(b)));
      out.append(std::as_bytes(std::span(c)));
      out.append(std::as_bytes(std::span(d)));
      return out;
    });
}

TEST_CASE("DataParallel: buckets follow backward order, keep tensors whole, and respect the cap") {
  inprocess::launch(1, [](inprocess::Communicator& comm) {
    DataParallelOptions options;
    options.bucket_cap_bytes = 400;  // 100 floats
    std::vector<float> p0(60), g0(60), p1(60), g1(60), p2(500), g2(500), p3(10), g3(10);
    std::vector<double> p4(10), g4(10);
    DataParallel<inprocess::Transport> dp(comm, options);
    dp.add(std::span(p0), std::span(g0));
    dp.add(std::span(p1), std::span(g1));
    dp.add(std::span(p2), std::span(g2));  // larger than the cap: a bucket of its own
    dp.add(std::span(p3), std::span(g3));
    dp.add(std::span(p4), std::span(g4));  // another wire type: another bucket
    // Backward order (last added first): 4 | 3, 2 -> 3 alone then 2 alone, 1, 0.
    CHECK(dp.bucket_of(3) < dp.bucket_of(2));
    CHECK(dp.bucket_of(2) < dp.bucket_of(1));
    CHECK(dp.bucket_of(1) < dp.bucket_of(0));
    CHECK(dp.bucket_of(4) != dp.bucket_of(3));
    CHECK(dp.bucket_count() == 5);
  });
}

TEST_CASE("DataParallel: misuse is a colt::Error naming the problem") {
  inprocess::launch(2, [](inprocess::Communicator& comm) {
    std::vector<float> p(4), g(4), q(3);
    DataParallel<inprocess::Transport> dp(comm);
    CHECK(error_kind([&] { dp.add(std::span(p), std::span(q), "w"); }) ==
          ErrorKind::invalid_argument);
    dp.add(std::span(p), std::span(g), "w");
    CHECK(error_kind([&] { dp.mark_ready(5); }) == ErrorKind::invalid_argument);
    dp.mark_ready(0);
    CHECK(error_kind([&] { dp.mark_ready(0); }) == ErrorKind::invalid_argument);
    CHECK(error_kind([&] { dp.set_local_samples(3); }) == ErrorKind::invalid_argument);
    CHECK_THROWS_AS((void)dp.no_sync(), Error);
    dp.synchronize();
    CHECK(error_kind([&] { dp.add(std::span(p), std::span(g), "late"); }) ==
          ErrorKind::invalid_argument);
    CHECK(error_kind([&] { dp.broadcast_parameters(2); }) == ErrorKind::invalid_argument);
  });
  CHECK(error_kind([&] {
          inprocess::launch(2, [](inprocess::Communicator& comm) {
            DataParallelOptions o;
            o.server = 2;
            DataParallel<inprocess::Transport> dp(comm, o);
          });
        }) == ErrorKind::invalid_argument);
}

TEST_CASE(
    "DataParallel: ranks that registered different tensors get an error, not a mismatch later") {
  std::vector<std::string> errors(3);
  inprocess::launch(3, [&](inprocess::Communicator& comm) {
    std::vector<float> p(comm.rank() == 1 ? 5 : 4), g(p.size());
    DataParallel<inprocess::Transport> dp(comm);
    dp.add(std::span(p), std::span(g));
    try {
      dp.average_gradients();
    } catch (const Error& e) {
      errors[static_cast<std::size_t>(comm.rank())] = e.what();
    }
  });
  for (const auto& e : errors)
    CHECK_MESSAGE(e.find("registered different tensors") != std::string::npos, e);
}

TEST_CASE(
    "DataParallel: a rank failing mid-step fails its peers' synchronize at once, not at the "
    "timeout") {
  CommunicatorOptions options;
  options.timeout = std::chrono::seconds(60);
  const auto started = std::chrono::steady_clock::now();
  std::atomic<int> peers_failed{0};
  CHECK_THROWS_WITH_AS(inprocess::launch(
                           3,
                           [&](inprocess::Communicator& comm) {
                             // The model's buffers outlive the DataParallel (add()'s contract):
                             // its helper may be writing a bucket back while this rank unwinds.
                             std::vector<float> p(40), g(40, 1.0f), q(40), h(40, 2.0f);
                             DataParallelOptions o;
                             o.bucket_cap_bytes = 64;
                             DataParallel<inprocess::Transport> dp(comm, o);
                             dp.add(std::span(p), std::span(g));
                             dp.add(std::span(q), std::span(h));
                             dp.mark_ready(1);  // the first bucket may already be on its way
                             if (comm.rank() == 2)
                               throw std::runtime_error("backward failed on rank 2");
                             try {
                               dp.mark_ready(0);
                               dp.synchronize();
                             } catch (const Error&) {
                               ++peers_failed;
                               throw;
                             }
                           },
                           options),
                       // rank 2's own exception, or a peer's Error naming rank 2, whichever
                       // failure reached the launch's group first
                       doctest::Contains("rank 2"), std::exception);
  CHECK(peers_failed.load() == 2);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
}

TEST_CASE("data-parallel training on N ranks takes the same steps as one rank on the whole batch") {
  using char_mlp::Optimizer;
  for (Optimizer optimizer : {Optimizer::sgd, Optimizer::adam})
    for (Aggregation aggregation : {Aggregation::all_reduce, Aggregation::parameter_server})
      for (bool overlap : {true, false}) {
        const auto config = dp::small_training(optimizer, aggregation, overlap);
        char_mlp::TrainResult single;
        inprocess::launch(
            1, [&](inprocess::Communicator& comm) { single = dp::train_small(comm, config); });
        REQUIRE(single.curve.size() >= 2);
        for (int ranks = 2; ranks <= 4; ++ranks) {
          std::vector<char_mlp::TrainResult> results(static_cast<std::size_t>(ranks));
          inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
            results[static_cast<std::size_t>(comm.rank())] = dp::train_small(comm, config);
          });
          const std::string label =
              std::string(optimizer == Optimizer::sgd ? "sgd" : "adam") + ", " +
              (aggregation == Aggregation::all_reduce ? "all-reduce" : "parameter server") +
              (overlap ? ", overlapped" : "") + ", " + std::to_string(ranks) + " ranks";
          // Float tolerance: the sums run in another order than on one rank.
          const double difference =
              dp::parameter_difference(results[0].parameters, single.parameters);
          CHECK_MESSAGE(difference < 2e-5,
                        label << ": parameters differ from single-rank training by " << difference);
          CHECK_MESSAGE(std::abs(results[0].validation_loss - single.validation_loss) < 1e-4,
                        label);
          for (int r = 1; r < ranks; ++r)
            CHECK_MESSAGE(results[static_cast<std::size_t>(r)].parameters == results[0].parameters,
                          label << ": rank " << r << "'s replica differs from rank 0's");
        }
      }
}

TEST_CASE("the sample model learns: loss falls on a small word list") {
  auto config = dp::small_training(char_mlp::Optimizer::adam, Aggregation::all_reduce, true);
  config.steps = 150;
  config.report_every = 10;
  char_mlp::TrainResult r;
  inprocess::launch(2, [&](inprocess::Communicator& comm) {
    auto result = dp::train_small(comm, config);
    if (comm.rank() == 0) r = result;
  });
  REQUIRE(r.curve.size() == 15);
  CHECK(r.curve.front().loss > 2.5);
  CHECK(r.curve.back().loss < r.curve.front().loss - 0.8);
  CHECK(r.validation_loss < r.curve.front().loss);
}
