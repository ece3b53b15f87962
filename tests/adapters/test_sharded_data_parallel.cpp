// ShardedDataParallel on in-process ranks: the averaged step for every stage and option against
// a reference computed here, stages 1-3 against DataParallel over 50 training steps (bitwise on
// ordered communicators), split sub-groups, checkpoints saved on p ranks and loaded onto
// others, held memory, and bad use.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <filesystem>
#include <fstream>
#include <string>
#include <optional>
#include <tuple>
#include <unistd.h>
#include <utility>
#include <vector>

#include "colt/colt.hpp"
#include "03_train_tensor_parallel/tensor_parallel_mlp.hpp"
#include "common/naive_gemm.hpp"
#include "sharded_cases.hpp"

using namespace colt;
using namespace colt::test;

namespace {

// fn(comm) on every rank; every rank's problems are reported, labelled.
template <class Fn>
void on_ranks(int ranks, const std::string& label, Fn fn, bool ordered = false) {
  std::vector<std::string> problems(static_cast<std::size_t>(ranks));
  inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
    comm.set_ordered(ordered);
    try {
      problems[static_cast<std::size_t>(comm.rank())] = fn(comm);
    } catch (const std::exception& e) {
      problems[static_cast<std::size_t>(comm.rank())] = std::string("threw: ") + e.what();
    }
  });
  for (int r = 0; r < ranks; ++r)
    CHECK_MESSAGE(problems[static_cast<std::size_t>(r)].empty(),
                  label << ", " << ranks << " ranks, rank " << r << ": "
                        << problems[static_cast<std::size_t>(r)]);
}

std::string temporary_prefix(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("colt_shards_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

}  // namespace

TEST_CASE("ShardedDataParallel: one averaged step, every stage and option, exact when ordered") {
  for (int ranks = 1; ranks <= 4; ++ranks)
    for (int stage = 1; stage <= 3; ++stage)
      for (int variant = 0; variant < 4; ++variant) {
        sharded::AverageCase c;
        c.options.stage = stage;
        c.options.bucket_cap_bytes = variant % 2 ? 64 : 4096;  // units of 16 or 1024 floats
        c.options.overlap = variant != 3;
        c.options.weighted = variant == 1 || variant == 2;
        c.unequal_weights = c.options.weighted;
        c.unused = variant == 2 || variant == 3;
        c.accumulate = variant == 3;
        c.seed = static_cast<std::uint64_t>(ranks * 10 + variant);
        const std::string label =
            "stage " + std::to_string(stage) + " variant " + std::to_string(variant);
        on_ranks(
            ranks, label + ", ordered",
            [&](auto& comm) { return sharded::average_step(comm, c, 0.0); }, true);
        // Unordered: the ring's partial sums differ in order, not in size.
        on_ranks(ranks, label, [&](auto& comm) { return sharded::average_step(comm, c, 1e-6); });
      }
}

TEST_CASE("ShardedDataParallel: bfloat16 wire with float32 master shards") {
  for (int ranks = 1; ranks <= 4; ++ranks)
    for (int stage = 1; stage <= 3; ++stage) {
      sharded::AverageCase c;
      c.options.stage = stage;
      c.options.wire = ShardWire::bfloat16;
      c.options.bucket_cap_bytes = 64;
      c.options.weighted = true;
      c.unequal_weights = true;
      // Each term is rounded to bfloat16 (2^-8 relative) before a sum that rounds again at
      // every step, and forward reads parameters rounded to bfloat16 from the master shards.
      on_ranks(ranks, "bfloat16 stage " + std::to_string(stage),
               [&](auto& comm) { return sharded::average_step(comm, c, 0.02); });
    }
}

TEST_CASE("ShardedDataParallel: a bfloat16 wire's total weight never waits on a peer's marks") {
  // Stage 3 without prefetch gathers a unit at its backward hook, and with unused tensors the
  // mark that completes a unit comes at a different point on each rank. A bfloat16 wire needs
  // the step's total weight before its first sum: learnt there, blocking, at a reduce-scatter
  // that a mark started, a rank waited for peers that waited in a gather for it, until the
  // deadline. It is learnt when the step begins, at a hook every rank reaches alike.
  for (int ranks = 2; ranks <= 4; ++ranks)
    for (int accumulate = 0; accumulate < 2; ++accumulate) {
      sharded::AverageCase c;
      c.options.stage = 3;
      c.options.wire = ShardWire::bfloat16;
      c.options.bucket_cap_bytes = 64;
      c.options.prefetch = false;
      c.options.weighted = true;
      c.unequal_weights = true;
      c.unused = true;
      c.accumulate = accumulate == 1;
      on_ranks(ranks, "unused tensors, accumulate " + std::to_string(accumulate), [&](auto& comm) {
        comm.set_timeout(std::chrono::seconds(20));  // a deadlock ends in an error
        return sharded::average_step(comm, c, 0.02);
      });
    }
}

TEST_CASE("ShardedDataParallel: stages 1-3 train like DataParallel for 50 steps") {
  for (int ranks = 1; ranks <= 4; ++ranks)
    for (int stage = 1; stage <= 3; ++stage) {
      const std::string label = "stage " + std::to_string(stage);
      on_ranks(
          ranks, label + ", ordered: bitwise",
          [&](auto& comm) { return sharded::against_plain(comm, stage, 0.0); }, true);
      on_ranks(ranks, label, [&](auto& comm) { return sharded::against_plain(comm, stage, 1e-4); });
    }
  on_ranks(
      3, "stage 3 without prefetch",
      [](auto& comm) { return sharded::against_plain(comm, 3, 0.0, ShardWire::float32, false); },
      true);
  on_ranks(2, "stage 3, bfloat16 wire",
           [](auto& comm) { return sharded::against_plain(comm, 3, 0.05, ShardWire::bfloat16); });
}

TEST_CASE("ShardedDataParallel over split sub-groups: a 2 x 2 grid of data x tensor groups") {
  on_ranks(
      4, "data-parallel groups of a 2 x 2 grid",
      [](auto& comm) {
        // Ranks with the same tensor-parallel index (rank % 2) form a data-parallel group, each
        // group training on its own seed, as each tensor shard of a grid would.
        auto group = comm.split(comm.rank() % 2, comm.rank());
        return sharded::against_plain(group, 3, 0.0, ShardWire::float32, true,
                                      static_cast<std::uint64_t>(1 + comm.rank() % 2));
      },
      true);
}

TEST_CASE("ShardedDataParallel checkpoints: save on p ranks, load onto q, through a root too") {
  for (int saved = 1; saved <= 4; saved += 3)  // 1 and 4
    for (int stage = 1; stage <= 3; ++stage) {
      const std::string prefix = temporary_prefix("s" + std::to_string(stage));
      ModelState expected;
      on_ranks(saved, "save", [&](auto& comm) {
        ModelState state = sharded::train_and_save(comm, stage, prefix);
        if (comm.rank() == 0) expected = std::move(state);
        return std::string();
      });
      REQUIRE(expected.parameters.size() == 1331);
      for (int loading = 1; loading <= 3; ++loading)
        on_ranks(loading, "load " + std::to_string(saved) + " -> " + std::to_string(loading),
                 [&](auto& comm) {
                   return sharded::load_and_compare(comm, 4 - stage, prefix, saved, expected);
                 });
      for (int r = 0; r < saved; ++r) std::filesystem::remove(shard_file_name(prefix, r, saved));
    }
}

TEST_CASE("ShardedDataParallel checkpoints: missing, stale and foreign files fail on every rank") {
  const std::string prefix = temporary_prefix("bad");
  on_ranks(2, "save", [&](auto& comm) {
    sharded::train_and_save(comm, 2, prefix);
    return std::string();
  });
  const auto load = [&](int ranks, int saved_ranks, std::size_t extra_tensor) {
    on_ranks(ranks, "bad load", [&](auto& comm) {
      ShardedDataParallel<inprocess::Transport> sdp(comm, {});
      std::vector<std::vector<float>> zeros;
      for (std::size_t s : sharded::sizes) zeros.emplace_back(s, 0.0f);
      if (extra_tensor) zeros.emplace_back(extra_tensor, 0.0f);
      for (auto& z : zeros) sdp.add(z, [](std::span<float>, std::span<float>) {});
      return sharded::expect_error("load", [&] { sdp.load_shards(prefix, saved_ranks); });
    });
  };
  load(2, 3, 0);  // no files for 3 ranks under the prefix
  load(3, 2, 5);  // another model (one more tensor)
  // A leftover file of another run: rank 1's file holds rank 0 of 2.
  std::filesystem::copy_file(shard_file_name(prefix, 0, 2), shard_file_name(prefix, 1, 2),
                             std::filesystem::copy_options::overwrite_existing);
  load(2, 2, 0);
  std::ofstream(shard_file_name(prefix, 0, 2), std::ios::trunc) << "truncated";
  load(1, 2, 0);
  for (int r = 0; r < 2; ++r) std::filesystem::remove(shard_file_name(prefix, r, 2));
}

TEST_CASE("ShardedDataParallel holds 1/p of the model state, counted as it allocates") {
  // 8 equal layers of 4096 floats, Adam (2 state floats per parameter), p = 4.
  on_ranks(4, "held memory", [](auto& comm) {
    std::ostringstream problems;
    const std::size_t layer = 4096, layers = 8, psi = layer * layers;
    for (int stage = 1; stage <= 3; ++stage) {
      ShardedDataParallelOptions options;
      options.stage = stage;
      std::vector<float> initial(layer, 0.5f);
      std::vector<std::span<float>> grads(layers);
      ShardedDataParallel<inprocess::Transport> sdp(comm, options);
      for (std::size_t t = 0; t < layers; ++t) {
        sdp.add(initial, [&, t](std::span<float>, std::span<float> g) { grads[t] = g; });
        sdp.end_unit();
      }
      for (int step = 0; step < 2; ++step) {
        for (std::size_t t = 0; t < layers; ++t) sdp.gather_for_forward(t);
        for (std::size_t t = layers; t-- > 0;) {
          sdp.gather_for_backward(t);
          grads[t][0] += 1.0f;
          sdp.mark_ready(t);
        }
        sdp.synchronize();
        sdp.step([](const Shard&) {});
      }
      const HeldMemory& m = sdp.memory();
      const std::size_t f = sizeof(float), shard = psi / 4 * f, unit = layer * f;
      const auto expect = [&](Holding kind, std::size_t lo, std::size_t hi) {
        if (m.peak(kind) < lo || m.peak(kind) > hi)
          problems << "stage " << stage << ": " << holding_name(kind) << " peak " << m.peak(kind)
                   << " not in [" << lo << ", " << hi << "]; ";
      };
      expect(Holding::optimizer_state, 2 * shard, 2 * shard);
      if (stage == 1) expect(Holding::gradients, psi * f + shard, psi * f + shard);
      // Stage 2 and 3: the shard, the unit being written, and at most one still reducing.
      if (stage >= 2) expect(Holding::gradients, shard + unit, shard + 2 * unit);
      if (stage < 3) expect(Holding::parameters, psi * f, psi * f);
      // Stage 3: the shard, the unit in use and the one prefetched.
      if (stage == 3) expect(Holding::parameters, shard + unit, shard + 2 * unit);
      if (m.now(Holding::buffers) != 0) problems << "staging buffers left held; ";
    }
    return problems.str();
  });
}

TEST_CASE("ShardedDataParallel: bad use is a clear error, never a hang") {
  on_ranks(2, "bad use", [](auto& comm) {
    std::string problems;
    ShardedDataParallelOptions bad;
    bad.stage = 4;
    problems += sharded::expect_error(
        "stage 4", [&] { ShardedDataParallel<inprocess::Transport> s(comm, bad); });
    std::vector<float> initial(comm.rank() == 0 ? 5 : 6, 1.0f);
    {
      ShardedDataParallel<inprocess::Transport> s(comm, {});
      s.add(initial, [](std::span<float>, std::span<float>) {});
      problems += sharded::expect_error("different tensors", [&] { s.unit_count(); });
    }
    std::vector<float> same(5, 1.0f);
    ShardedDataParallel<inprocess::Transport> s(comm, {});
    problems += sharded::expect_error("end_unit first", [&] { s.end_unit(); });
    s.add(same, [](std::span<float>, std::span<float>) {});
    problems += sharded::expect_error("tensor index", [&] { s.mark_ready(3); });
    s.gather_for_backward(0);
    s.mark_ready(0);
    problems += sharded::expect_error("marked twice", [&] { s.mark_ready(0); });
    problems +=
        sharded::expect_error("step before synchronize", [&] { s.step([](const Shard&) {}); });
    s.synchronize();
    problems += sharded::expect_error("bad root", [&] { s.gather_state(2); });
    return problems;
  });
}

TEST_CASE("ShardedDataParallel composes with TensorSplit: a 2 x 2 data x tensor-parallel grid") {
  // Ranks {0, 1} and {2, 3} split a ParallelMlp's hidden layer (tensor parallel); ranks {0, 2}
  // and {1, 3} hold the same shards and train on different data (data parallel, stage 3 over
  // the data-parallel group). Five SGD steps, compared bitwise with DataParallel on the same
  // grid (ordered communicators).
  constexpr std::size_t batch = 3, in = 5, hidden = 7, out = 4, steps = 5;
  on_ranks(
      4, "grid",
      [&](auto& comm) {
        auto tensor_group = comm.split(comm.rank() / 2, comm.rank());
        auto data_group = comm.split(comm.rank() % 2, comm.rank());
        TensorSplit split(tensor_group);
        ParallelMlp<inprocess::Transport, float, tensor_parallel::Tanh> mlp(split, in, hidden, out);
        const partition::Range c = split.share(hidden);
        const std::size_t sizes[4] = {in * c.size(), c.size(), c.size() * out, out};
        const auto value = [](std::size_t t, std::size_t i, int salt) {
          return static_cast<float>(dp::contribution(9, salt, t, i)) * 0.25f;
        };
        const auto train = [&](bool sharded) {
          std::vector<std::vector<float>> initial(4), own_p(4), own_g(4);
          std::vector<std::span<float>> p(4), g(4);
          for (std::size_t t = 0; t < 4; ++t)
            for (std::size_t i = 0; i < sizes[t]; ++i)
              initial[t].push_back(value(t, i, 100 + tensor_group.rank()));
          std::optional<DataParallel<inprocess::Transport>> plain;
          std::optional<ShardedDataParallel<inprocess::Transport>> sdp;
          if (sharded) {
            sdp.emplace(data_group, ShardedDataParallelOptions{});
            for (std::size_t t = 0; t < 4; ++t)
              sdp->add(initial[t], [&, t](std::span<float> a, std::span<float> b) {
                p[t] = a;
                g[t] = b;
              });
          } else {
            plain.emplace(data_group);
            for (std::size_t t = 0; t < 4; ++t) {
              own_p[t] = initial[t];
              own_g[t].assign(sizes[t], 0.0f);
              p[t] = own_p[t];
              g[t] = own_g[t];
              plain->add(p[t], g[t]);
            }
          }
          std::vector<float> x(batch * in), dy(batch * out), y(batch * out);
          std::vector<float> pre(batch * c.size()), post(pre.size()), scratch(pre.size());
          const ParallelMlpBuffers<float> buffers{pre, post, scratch};
          for (std::size_t step = 0; step < steps; ++step) {
            for (std::size_t i = 0; i < x.size(); ++i)
              x[i] = value(4, i + step * 100, data_group.rank());
            for (std::size_t i = 0; i < dy.size(); ++i)
              dy[i] = value(5, i + step * 100, data_group.rank());
            if (sdp)
              for (std::size_t t = 0; t < 4; ++t) sdp->gather_for_forward(t);
            const auto shards = [&] {
              return std::pair{LinearShard<float>{p[0], p[1], g[0], g[1]},
                               LinearShard<float>{p[2], p[3], g[2], g[3]}};
            };
            auto [first, second] = shards();
            mlp.forward(std::span<const float>(x), batch, first, second, buffers,
                        std::span<float>(y), samples::NaiveGemm{});
            if (sdp) {
              for (std::size_t t = 4; t-- > 0;) sdp->gather_for_backward(t);
            } else {
              for (auto& grad : own_g) std::fill(grad.begin(), grad.end(), 0.0f);
            }
            std::tie(first, second) = shards();
            mlp.backward(std::span<const float>(x), batch, first, second, buffers,
                         std::span<const float>(dy), std::span<float>(), samples::NaiveGemm{});
            for (std::size_t t = 4; t-- > 0;) {
              if (sdp) sdp->mark_ready(t);
              if (plain) plain->mark_ready(t);
            }
            if (plain) {
              plain->synchronize();
              for (std::size_t t = 0; t < 4; ++t)
                for (std::size_t i = 0; i < sizes[t]; ++i) p[t][i] -= 0.1f * g[t][i];
            } else {
              sdp->synchronize();
              sdp->step([](const Shard& s) {
                for (std::size_t i = 0; i < s.parameters.size(); ++i)
                  s.parameters[i] -= 0.1f * s.gradients[i];
              });
            }
          }
          if (sdp) return sdp->full_parameters();
          std::vector<float> all;
          for (const auto& v : own_p) all.insert(all.end(), v.begin(), v.end());
          return all;
        };
        const std::vector<float> with_plain = train(false);
        const std::vector<float> with_shards = train(true);
        if (with_plain == with_shards &&
            with_plain.size() == sizes[0] + sizes[1] + sizes[2] + sizes[3])
          return std::string();
        return "sharded parameters differ from DataParallel's after " + std::to_string(steps) +
               " steps (max difference " +
               std::to_string(dp::parameter_difference(with_shards, with_plain)) + ")";
      },
      true);
}

TEST_CASE("ShardedDataParallel destroyed in the middle of a step aborts both of its groups") {
  const auto started = std::chrono::steady_clock::now();
  on_ranks(2, "abandoned step", [](auto& comm) -> std::string {
    try {
      ShardedDataParallel<inprocess::Transport> s(comm, {});  // stage 3, prefetching
      const std::vector<float> initial(100, 1.0f);
      for (int t = 0; t < 3; ++t) {
        s.add(initial, [](std::span<float>, std::span<float>) {});
        s.end_unit();
      }
      for (std::size_t t = 0; t < 3; ++t) s.gather_for_forward(t);
      s.gather_for_backward(2);
      s.mark_ready(2);  // its reduce-scatter is started
      if (comm.rank() == 1) throw std::runtime_error("backward failed");
      s.gather_for_backward(1);  // a gather on the other communicator
      s.mark_ready(1);
      s.gather_for_backward(0);
      s.mark_ready(0);
      s.synchronize();
      return "finished a step its peer abandoned";
    } catch (const Error& e) {
      return comm.rank() == 0 ? std::string() : std::string("rank 1: ") + e.what();
    } catch (const std::runtime_error&) {
      return comm.rank() == 1 ? std::string() : "rank 0 saw the other rank's exception";
    }
  });
  // COLT_TIMEOUT_S is 30 in the suite: the survivor learns by the abort, not the deadline.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
}
