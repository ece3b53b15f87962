#pragma once
// DataParallel properties, written once over any communicator: the in-process tests run them on
// threads, the MPI tests under mpiexec. Each case returns an Outcome per rank: a description of
// what went wrong (empty when nothing did) and the bytes of its result, which the caller checks
// are the same on every rank.

#include <cmath>
#include <cstring>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "char_mlp.hpp"
#include "colt/adapters/data_parallel.hpp"
#include "colt/core/partition.hpp"
#include "colt/core/types.hpp"
#include "trainer.hpp"
#include "words.hpp"

namespace colt::test::dp {

struct Outcome {
  std::string error;
  std::vector<std::byte> result;
  void append(std::span<const std::byte> bytes) {
    result.insert(result.end(), bytes.begin(), bytes.end());
  }
};

// The tensors of the mixed-bucket case: sizes chosen to straddle a small cap, every type.
inline constexpr std::size_t mixed_sizes[] = {1, 7, 1000, 33, 0, 5003, 2, 257, 64};
inline constexpr DataType mixed_types[] = {DataType::float32, DataType::float64, DataType::float16,
                                           DataType::bfloat16};

struct MixedCase {
  DataParallelOptions options;
  bool unequal_weights = false;  // rank r has weight 3r + 1, and the last rank none at all
  bool unused = false;           // rank r leaves tensor t unmarked when (t + r) % 3 == 0
  bool shuffle_marks = true;     // marks arrive in a different order on every rank
  std::uint64_t seed = 1;
};

// Rank r's gradient for tensor t, element i: seeded, so every rank can compute every other's.
inline double contribution(std::uint64_t seed, int rank, std::size_t tensor, std::size_t i) {
  partition::SplitMix64 rng(seed * 1000003 + static_cast<std::uint64_t>(rank) * 7919 +
                            tensor * 104729 + i);
  return (rng.unit() - 0.5) * 8.0;  // [-4, 4)
}

inline std::int64_t weight_of(const MixedCase& c, int rank, int size) {
  if (!c.unequal_weights) return 1;
  return rank == size - 1 && size > 1 ? 0 : 3 * rank + 1;
}
inline bool uses(const MixedCase& c, int rank, std::size_t tensor) {
  return !c.unused || (tensor + static_cast<std::size_t>(rank)) % 3 != 0;
}

// Allowed error, relative to the largest contribution (4), per gradient type and wire.
inline double tolerance(DataType type, LowPrecision low, int ranks) {
  switch (type) {
    case DataType::float64: return 1e-13;
    case DataType::float32: return 1e-6;
    case DataType::float16:
      return low == LowPrecision::prescale ? (ranks + 1) * 0x1.0p-11 : 0x1.0p-11;
    default: return low == LowPrecision::prescale ? (ranks + 1) * 0x1.0p-8 : 0x1.0p-8;
  }
}

// Every tensor's gradient becomes the (weighted) mean of the ranks' contributions, unused ones
// counting as zero whatever their buffers hold, through buckets of mixed sizes and types.
template <class Comm>
Outcome mixed_buckets(Comm& comm, const MixedCase& c) {
  const int rank = comm.rank(), size = comm.size();
  const std::size_t n = std::size(mixed_sizes);
  std::vector<std::vector<std::byte>> params(n), grads(n);
  DataParallel<typename Comm::transport_type> dp(comm, c.options);
  for (std::size_t t = 0; t < n; ++t) {
    const DataType type = mixed_types[t % std::size(mixed_types)];
    detail::with_data_type(type, [&]<class T>(detail::type_tag<T>) {
      if constexpr (GradientElement<T>) {
        params[t].resize(mixed_sizes[t] * sizeof(T));
        grads[t].resize(mixed_sizes[t] * sizeof(T));
        auto* g = reinterpret_cast<T*>(grads[t].data());
        for (std::size_t i = 0; i < mixed_sizes[t]; ++i)
          g[i] = uses(c, rank, t) ? static_cast<T>(contribution(c.seed, rank, t, i))
                                  : static_cast<T>(std::nan(""));  // must never be read
        dp.add(std::span(reinterpret_cast<T*>(params[t].data()), mixed_sizes[t]),
               std::span(g, mixed_sizes[t]));
      }
    });
  }
  dp.set_local_samples(weight_of(c, rank, size));
  std::vector<std::size_t> order(n);
  for (std::size_t t = 0; t < n; ++t) order[t] = n - 1 - t;
  if (c.shuffle_marks) {
    std::mt19937_64 rng(c.seed + static_cast<std::uint64_t>(rank));
    std::shuffle(order.begin(), order.end(), rng);
  }
  for (std::size_t t : order)
    if (uses(c, rank, t)) dp.mark_ready(t);
  dp.synchronize();

  Outcome out;
  std::int64_t total = 0;
  for (int r = 0; r < size; ++r) total += weight_of(c, r, size);
  for (std::size_t t = 0; t < n; ++t) {
    out.append(grads[t]);
    const DataType type = mixed_types[t % std::size(mixed_types)];
    const double tol = tolerance(type, c.options.low_precision, size) * 8.0;  // |g| <= 4, 2x slack
    detail::with_data_type(type, [&]<class T>(detail::type_tag<T>) {
      const auto* g = reinterpret_cast<const T*>(grads[t].data());
      for (std::size_t i = 0; i < mixed_sizes[t]; ++i) {
        double expected = 0;
        for (int r = 0; r < size; ++r)
          if (uses(c, r, t))  // what rank r's buffer held: the contribution rounded to T
            expected += static_cast<double>(weight_of(c, r, size)) *
                        static_cast<double>(static_cast<T>(contribution(c.seed, r, t, i)));
        expected /= static_cast<double>(total);
        const auto got = static_cast<double>(g[i]);
        if (!(std::abs(got - expected) <= tol)) {
          std::ostringstream s;
          s << "rank " << rank << " tensor " << t << " (" << name_of(type) << ") element " << i
            << ": got " << got << ", expected " << expected;
          out.error = s.str();
          return;
        }
      }
    });
    if (!out.error.empty()) break;
  }
  if (out.error.empty() && c.options.bucket_cap_bytes < 8192 && dp.bucket_count() < 4)
    out.error =
        "expected several buckets under a small cap, got " + std::to_string(dp.bucket_count());
  return out;
}

// 16-bit gradients whose sum over ranks overflows half (65504): the average must not.
template <class Comm>
Outcome half_without_overflow(Comm& comm, LowPrecision low) {
  DataParallelOptions options;
  options.low_precision = low;
  std::vector<half> p(33), g(33, half(60000.0f - 1000.0f * static_cast<float>(comm.rank() % 2)));
  DataParallel<typename Comm::transport_type> dp(comm, options);
  dp.add(std::span(p), std::span(g));
  dp.average_gradients();
  Outcome out;
  out.append(std::as_bytes(std::span(g)));
  double expected = 0;
  for (int r = 0; r < comm.size(); ++r) expected += 60000.0 - 1000.0 * (r % 2);
  expected /= comm.size();
  for (const half& x : g)
    if (!(std::abs(static_cast<double>(x) - expected) <= 64.0))  // 32 = half's spacing near 60000
      out.error = "half average " + std::to_string(static_cast<double>(x)) + ", expected " +
                  std::to_string(expected);
  return out;
}

// Least squares y = w.x over a global batch, gradient accumulated (added) over micro-batches
// under no_sync, must equal the gradient of the whole batch on one rank.
inline void regression_gradient(std::span<const std::size_t> samples, std::span<const double> w,
                                std::vector<double>& grad, double scale) {
  for (std::size_t s : samples) {
    double x[4], y = std::sin(static_cast<double>(s)), dot = 0;
    for (int k = 0; k < 4; ++k) {
      x[k] = std::cos(static_cast<double>(s * 4 + static_cast<std::size_t>(k)));
      dot += w[static_cast<std::size_t>(k)] * x[k];
    }
    for (int k = 0; k < 4; ++k) grad[static_cast<std::size_t>(k)] += scale * 2 * (dot - y) * x[k];
  }
}

template <class Comm>
Outcome no_sync_accumulation(Comm& comm, int micro_batches) {
  constexpr std::size_t global = 96;  // samples per optimizer step
  DataParallelOptions options;
  options.weighted = true;
  std::vector<double> w = {0.5, -0.25, 1.0, 0.125}, grad(4, 0.0);
  DataParallel<typename Comm::transport_type> dp(comm, options);
  dp.add(std::span(w), std::span(grad));
  std::vector<double> reference_w = w;
  Outcome out;
  for (int step = 0; step < 3; ++step) {
    // This rank's share of the step's samples, cut into micro-batches.
    const partition::Range mine = partition::range(global, comm.size(), comm.rank());
    std::fill(grad.begin(), grad.end(), 0.0);
    for (int m = 0; m < micro_batches; ++m) {
      const partition::Range part = partition::range(mine.size(), micro_batches, m);
      std::vector<std::size_t> samples;
      for (std::size_t i = part.begin; i < part.end; ++i)
        samples.push_back(step * global + mine.begin + i);
      const double scale =
          mine.size() ? 1.0 / static_cast<double>(mine.size()) : 0.0;  // local mean
      if (m + 1 < micro_batches) {
        auto guard = dp.no_sync();
        regression_gradient(samples, w, grad, scale);
        dp.mark_ready(0);
        dp.synchronize();  // a no-op under no_sync
      } else {
        regression_gradient(samples, w, grad, scale);
        dp.set_local_samples(static_cast<std::int64_t>(mine.size()));
        // With earlier micro-batches, the mark they left makes synchronize read the gradient
        // though this last one does not mark it (it was used in this step).
        if (m == 0) dp.mark_ready(0);
        dp.synchronize();
      }
    }
    // One rank, the whole batch at once.
    std::vector<std::size_t> all(global);
    for (std::size_t i = 0; i < global; ++i) all[i] = step * global + i;
    std::vector<double> reference(4, 0.0);
    regression_gradient(all, reference_w, reference, 1.0 / global);
    for (std::size_t k = 0; k < 4; ++k) {
      if (!(std::abs(grad[k] - reference[k]) <= 1e-12 * (1 + std::abs(reference[k]))))
        out.error = "step " + std::to_string(step) + " gradient[" + std::to_string(k) +
                    "] = " + std::to_string(grad[k]) + ", one big batch gives " +
                    std::to_string(reference[k]);
      w[k] -= 0.1 * grad[k];
      reference_w[k] -= 0.1 * reference[k];
    }
    out.append(std::as_bytes(std::span(grad)));
  }
  return out;
}

// A small word list for training tests (no dictionary needed).
inline const std::vector<std::string>& test_words() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> w;
    const char* syllables[] = {"ka", "lo", "mi", "ter", "sun", "ba",
                               "ri", "on", "el", "dra", "po",  "ss"};
    partition::SplitMix64 rng(3);
    for (int i = 0; i < 400; ++i) {
      std::string word;
      const auto parts = 1 + rng.below(4);
      for (std::uint64_t k = 0; k < parts; ++k) word += syllables[rng.below(std::size(syllables))];
      w.push_back(word);
    }
    return w;
  }();
  return words;
}

inline char_mlp::TrainConfig small_training(char_mlp::Optimizer optimizer, Aggregation aggregation,
                                            bool overlap) {
  char_mlp::TrainConfig config;
  config.shape = {3, 8, 32};
  config.steps = 12;
  config.batch = 101;  // prime: uneven shares on every rank count, and a short last batch
  config.optimizer = optimizer;
  config.learning_rate = optimizer == char_mlp::Optimizer::adam ? 0.01 : 0.5;
  config.aggregation = aggregation;
  config.overlap = overlap;
  config.bucket_cap_bytes = 4096;  // several buckets, started during backward
  config.report_every = 5;
  return config;
}

// The training tests' examples, from test_words() with 3 characters of context.
inline const char_mlp::Dataset& small_dataset() {
  static const char_mlp::Dataset data = [] {
    char_mlp::Dataset d = char_mlp::make_dataset(test_words(), 3, 11);
    d.train.resize(
        std::min<std::size_t>(d.train.size(), 555));  // 555 = 5 * 101 + 50: epochs end short
    return d;
  }();
  return data;
}

// Trains the sample's model and returns its parameters (the result bytes) and losses.
template <class Comm>
char_mlp::TrainResult train_small(Comm& comm, const char_mlp::TrainConfig& config) {
  char_mlp::Model model(config.shape, config.seed);
  return char_mlp::train(comm, small_dataset(), config, model, [](const char_mlp::Progress&) {});
}

// Largest |a - b| / (1 + |b|) over the parameters.
inline double parameter_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]) /
                                (1.0 + std::abs(static_cast<double>(b[i]))));
  return worst;
}

}  // namespace colt::test::dp
