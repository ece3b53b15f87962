// One data-parallel training step, plain and sharded (ZeRO stages 1-3, docs/sharded-data-
// parallel.md), on in-process ranks, with each layer's compute simulated by a sleep: compute
// that leaves the host cores free, as a GPU kernel does, so what the step adds to the compute
// floor is the communication the adapter could not hide. Rows (median step of the slowest rank,
// one run):
//   compute only          forward T per layer, backward 2T per layer: the floor
//   DataParallel          all-reduce per bucket (one bucket per layer), started during backward
//   stage 1, 2            reduce-scatter per layer during backward, all-gather after the step
//   stage 3               + all-gather of each layer before its forward and its backward,
//                         the next layer's started while this one computes (prefetch)
//   stage 3, no prefetch  each layer gathered only when asked for
// Every row's parameters after the steps are checked bitwise against DataParallel's (ordered
// reductions, SGD), so a wrong result cannot hide behind a fast one.
//
//   sharded_step [--ranks=2] [--layers=8] [--layer-floats=1048576] [--compute-us=2000]
//                [--steps=20] [--smoke] [--help]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "colt/colt.hpp"
#include "support/number_flag.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct Config {
  int ranks = 2;
  std::size_t layers = 8;
  std::size_t layer_floats = std::size_t{1} << 20;
  int compute_us = 2000;
  int steps = 20;
};

enum class Row { compute_only, plain, stage1, stage2, stage3, stage3_no_prefetch };
constexpr Row rows[] = {Row::compute_only, Row::plain,  Row::stage1,
                        Row::stage2,       Row::stage3, Row::stage3_no_prefetch};

const char* name_of(Row r) {
  switch (r) {
    case Row::compute_only: return "compute only";
    case Row::plain: return "DataParallel";
    case Row::stage1: return "stage 1";
    case Row::stage2: return "stage 2";
    case Row::stage3: return "stage 3";
    case Row::stage3_no_prefetch: return "stage 3, no prefetch";
  }
  return "?";
}

float gradient(int rank, std::size_t layer, std::size_t i, int step) {
  return static_cast<float>((static_cast<int>((i * 7 + layer * 13) % 101) - 50) * (rank + 1) +
                            step) *
         1e-3f;
}

struct Outcome {
  double median_step = 0;
  std::vector<float> parameters;  // rank 0's, after the steps
};

void compute(const Config& c, int times) {
  std::this_thread::sleep_for(std::chrono::microseconds(c.compute_us * times));
}

Outcome run_row(const Config& c, Row row) {
  Outcome out;
  colt::inprocess::launch(c.ranks, [&](colt::inprocess::Communicator& comm) {
    comm.set_ordered(true);  // every row's result comparable bit for bit
    const std::size_t L = c.layers, N = c.layer_floats;
    std::vector<float> initial(N);
    for (std::size_t i = 0; i < N; ++i) initial[i] = static_cast<float>(i % 97) * 0.01f;
    std::vector<std::vector<float>> own_params, own_grads;
    std::vector<std::span<float>> params(L), grads(L);
    std::optional<colt::DataParallel<colt::inprocess::Transport>> dp;
    std::optional<colt::ShardedDataParallel<colt::inprocess::Transport>> sdp;
    if (row == Row::compute_only || row == Row::plain) {
      own_params.assign(L, initial);
      own_grads.assign(L, std::vector<float>(N, 0.0f));
      for (std::size_t l = 0; l < L; ++l) params[l] = own_params[l], grads[l] = own_grads[l];
      if (row == Row::plain) {
        colt::DataParallelOptions o;
        o.bucket_cap_bytes = N * sizeof(float);
        dp.emplace(comm, o);
        for (std::size_t l = 0; l < L; ++l) dp->add(params[l], grads[l]);
      }
    } else {
      colt::ShardedDataParallelOptions o;
      o.stage = row == Row::stage1 ? 1 : row == Row::stage2 ? 2 : 3;
      o.prefetch = row != Row::stage3_no_prefetch;
      o.state_per_parameter = 0;
      sdp.emplace(comm, o);
      for (std::size_t l = 0; l < L; ++l) {
        sdp->add(initial, [&, l](std::span<float> p, std::span<float> g) {
          params[l] = p;
          grads[l] = g;
        });
        sdp->end_unit();
      }
    }
    const float lr = 0.01f;
    std::vector<double> times;
    for (int step = 0; step < c.steps + 2; ++step) {
      colt::barrier(comm);
      const auto start = clock_type::now();
      for (std::size_t l = 0; l < L; ++l) {
        if (sdp) sdp->gather_for_forward(l);
        compute(c, 1);
      }
      for (std::size_t l = L; l-- > 0;) {
        if (sdp) sdp->gather_for_backward(l);
        compute(c, 2);
        float* g = grads[l].data();
        const bool accumulate = sdp.has_value();  // the adapter zeroes; the plain rows do not
        for (std::size_t i = 0; i < N; ++i)
          g[i] = (accumulate ? g[i] : 0.0f) + gradient(comm.rank(), l, i, step);
        if (dp) dp->mark_ready(l);
        if (sdp) sdp->mark_ready(l);
      }
      if (dp) dp->synchronize();
      if (sdp) {
        sdp->synchronize();
        sdp->step([&](const colt::Shard& s) {
          for (std::size_t i = 0; i < s.parameters.size(); ++i)
            s.parameters[i] -= lr * s.gradients[i];
        });
      } else if (dp) {
        for (std::size_t l = 0; l < L; ++l)
          for (std::size_t i = 0; i < N; ++i) params[l][i] -= lr * grads[l][i];
      }
      double seconds[] = {std::chrono::duration<double>(clock_type::now() - start).count()};
      colt::all_reduce(comm, std::span<double>(seconds), colt::max{});
      if (step >= 2) times.push_back(seconds[0]);
    }
    std::vector<float> final_parameters;
    if (sdp) {
      final_parameters = sdp->full_parameters();
    } else {
      for (std::size_t l = 0; l < L; ++l)
        final_parameters.insert(final_parameters.end(), params[l].begin(), params[l].end());
    }
    if (comm.rank() == 0) {
      std::sort(times.begin(), times.end());
      out.median_step = times[times.size() / 2];
      out.parameters = std::move(final_parameters);
    }
  });
  return out;
}

[[noreturn]] void usage(const char* problem) {
  if (problem) std::fprintf(stderr, "error: %s\n\n", problem);
  std::fprintf(problem ? stderr : stdout,
               "usage: sharded_step [--ranks=2] [--layers=8] [--layer-floats=1048576]\n"
               "                    [--compute-us=2000] [--steps=20] [--smoke] [--help]\n"
               "  --ranks=N         in-process ranks\n"
               "  --layers=L        layers, one unit (and one DataParallel bucket) each\n"
               "  --layer-floats=N  parameters per layer\n"
               "  --compute-us=T    simulated compute: T per layer forward, 2T backward\n"
               "  --steps=S         timed steps (after 2 warm-up steps)\n"
               "  --smoke           2 ranks, small layers, 3 steps: results checked only\n");
  std::exit(problem ? 2 : 0);
}

Config parse(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&](std::string_view flag) {
      return colt::bench::number_flag(a, flag, usage);
    };
    long v = 0;
    if (a == "--help" || a == "-h") usage(nullptr);
    if (a == "--smoke") {
      c = Config{2, 4, 1000, 100, 3};
    } else if ((v = value("--ranks=")) >= 0) {
      c.ranks = static_cast<int>(v);
    } else if ((v = value("--layers=")) >= 0) {
      c.layers = static_cast<std::size_t>(v);
    } else if ((v = value("--layer-floats=")) >= 0) {
      c.layer_floats = static_cast<std::size_t>(v);
    } else if ((v = value("--compute-us=")) >= 0) {
      c.compute_us = static_cast<int>(v);
    } else if ((v = value("--steps=")) >= 0) {
      c.steps = static_cast<int>(v);
    } else {
      usage(("unknown option " + std::string(a)).c_str());
    }
  }
  if (c.ranks < 1 || c.layers < 1 || c.layer_floats < 1 || c.steps < 1)
    usage("ranks, layers, layer floats and steps must be at least 1");
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const Config c = parse(argc, argv);
  std::printf(
      "%d ranks, %zu layers of %zu floats (%.1f MiB of parameters), compute %d us per "
      "layer forward and %d us backward, median of %d steps\n",
      c.ranks, c.layers, c.layer_floats,
      static_cast<double>(c.layers * c.layer_floats * sizeof(float)) / (1 << 20), c.compute_us,
      2 * c.compute_us, c.steps);
  std::printf("%-22s %12s %16s %16s\n", "row", "step (ms)", "x compute only", "x DataParallel");
  double floor = 0, plain = 0;
  std::vector<float> reference;
  bool ok = true;
  for (Row row : rows) {
    const Outcome o = run_row(c, row);
    if (row == Row::compute_only) floor = o.median_step;
    if (row == Row::plain) {
      plain = o.median_step;
      reference = o.parameters;
    }
    if (row != Row::compute_only && row != Row::plain && o.parameters != reference) {
      std::fprintf(stderr, "%s: parameters differ from DataParallel's\n", name_of(row));
      ok = false;
    }
    std::printf("%-22s %12.2f %16.2f %16s\n", name_of(row), o.median_step * 1e3,
                floor > 0 ? o.median_step / floor : 0.0,
                plain > 0 ? std::to_string(o.median_step / plain).substr(0, 4).c_str() : "");
  }
  return ok ? 0 : 1;
}
