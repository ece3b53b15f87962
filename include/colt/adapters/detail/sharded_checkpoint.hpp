#pragma once
// ShardedDataParallel's state in and out: rank 0's initial values scattered to the shards at the
// first step, the full parameters for evaluation, the whole model state moved through one rank
// (gather_state, load_state), and one file per rank (save_shard, load_shards: shard_file.hpp)
// that any rank count reads back. Each runs on the reductions' communicator with nothing else
// in flight (the adapter settles first). A local problem (a bad file, a bad state at the root)
// fails every rank alike, before any rank goes on to a collective the others would never join.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "colt/adapters/detail/sharded_units.hpp"
#include "colt/adapters/detail/step_guard.hpp"
#include "colt/adapters/detail/step_state.hpp"
#include "colt/adapters/shard_file.hpp"
#include "colt/adapters/sharded_options.hpp"
#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/gather.hpp"
#include "colt/collectives/scatter.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/error.hpp"
#include "colt/core/ops.hpp"

namespace colt::detail {

template <Transport X>
class ShardedCheckpoint {
 public:
  ShardedCheckpoint(ShardedUnits& units, Communicator<X>& comm, StepGuard& guard,
                    const StepState& step, const ShardedDataParallelOptions& options)
      : units_(units), comm_(comm), guard_(guard), step_(step), options_(options) {}

  // Rank 0's initial values into every rank's master shards, unit by unit (packed there,
  // scattered to the shards); the tensors let go of their initial spans.
  void scatter_initial() {
    std::vector<float> packed;
    for (std::size_t u = 0; u < units_.count(); ++u) {
      const ShardUnit& unit = units_.unit(u);
      if (comm_.rank() == 0) {
        packed.resize(unit.count);
        for (std::size_t t = unit.first_tensor; t < unit.end_tensor; ++t)
          std::copy(units_.tensors()[t].initial.begin(), units_.tensors()[t].initial.end(),
                    packed.begin() + static_cast<std::ptrdiff_t>(units_.offset_in_unit(t)));
      }
      guard_.guarded([&] {
        scatter_v(comm_, std::span<const float>(packed), units_.master(u),
                  std::span<const std::size_t>(unit.counts), 0);
      });
    }
    for (auto& t : units_.tensors()) t.initial = {};
  }

  std::vector<float> full_parameters() {
    std::vector<float> out(units_.layout().total);
    guard_.guarded([&] {
      for (std::size_t u = 0; u < units_.count(); ++u) {
        const ShardUnit& unit = units_.unit(u);
        all_gather_v(comm_, std::span<const float>(units_.master(u)),
                     std::span<float>(out).subspan(unit.offset, unit.count),
                     std::span<const std::size_t>(unit.counts), options_.algorithm);
      }
    });
    return out;
  }

  ModelState gather_state(int root) {
    const std::size_t total = units_.layout().total, k = options_.state_per_parameter;
    const bool here = comm_.rank() == root;
    ModelState state;
    state.state_per_parameter = k;
    if (here) {
      state.parameters.resize(total);
      state.optimizer_state.resize(k * total);
    }
    guard_.guarded([&] {
      for (std::size_t u = 0; u < units_.count(); ++u) {
        const ShardUnit& unit = units_.unit(u);
        const auto at = [&](std::vector<float>& v, std::size_t base) {
          return here ? std::span<float>(v).subspan(base + unit.offset, unit.count)
                      : std::span<float>();
        };
        gather_v(comm_, std::span<const float>(units_.master(u)), at(state.parameters, 0),
                 std::span<const std::size_t>(unit.counts), root);
        for (std::size_t j = 0; j < k; ++j)
          gather_v(comm_, std::span<const float>(units_.state_slot(u, j)),
                   at(state.optimizer_state, j * total), std::span<const std::size_t>(unit.counts),
                   root);
      }
    });
    return state;
  }

  // Into the master shards and optimizer state; the caller publishes the new parameters.
  void load_state(const ModelState& state, int root) {
    const std::size_t total = units_.layout().total;
    const bool here = comm_.rank() == root;
    std::string problem;
    if (here) {
      if (state.parameters.size() != total)
        problem = "the state holds " + std::to_string(state.parameters.size()) +
                  " parameters, the model " + std::to_string(total);
      else if (state.state_per_parameter != options_.state_per_parameter ||
               state.optimizer_state.size() != state.state_per_parameter * total)
        problem = "the state's optimizer state does not match state_per_parameter " +
                  std::to_string(options_.state_per_parameter);
    }
    agree_or_throw(problem, Operation::sharded_load_state);
    guard_.guarded([&] {
      for (std::size_t u = 0; u < units_.count(); ++u) {
        const ShardUnit& unit = units_.unit(u);
        const auto at = [&](const std::vector<float>& v, std::size_t base) {
          return here ? std::span<const float>(v).subspan(base + unit.offset, unit.count)
                      : std::span<const float>();
        };
        scatter_v(comm_, at(state.parameters, 0), units_.master(u),
                  std::span<const std::size_t>(unit.counts), root);
        for (std::size_t j = 0; j < options_.state_per_parameter; ++j)
          scatter_v(comm_, at(state.optimizer_state, j * total), units_.state_slot(u, j),
                    std::span<const std::size_t>(unit.counts), root);
      }
    });
  }

  void save_shard(const std::string& prefix) {
    std::vector<ShardSegment> segments;
    for (std::size_t u = 0; u < units_.count(); ++u) {
      const ShardUnit& unit = units_.unit(u);
      if (unit.shard.size() == 0) continue;
      segments.push_back({unit.offset + unit.shard.begin, units_.master(u),
                          std::span<const float>(units_.state(u).state.span())});
    }
    std::string problem;
    try {
      write_shard_file(shard_file_name(prefix, comm_.rank(), comm_.size()), comm_.size(),
                       comm_.rank(), options_.state_per_parameter, units_.sizes(),
                       units_.layout().total, segments);
    } catch (const Error& e) {
      problem = e.what();
    }
    agree_or_throw(problem, Operation::sharded_save_shard);
  }

  // Into the master shards and optimizer state; the caller publishes the new parameters.
  void load_shards(const std::string& prefix, int saved_ranks) {
    std::string problem;
    try {
      if (saved_ranks < 1) step_.fail("load_shards: saved_ranks must be at least 1");
      std::size_t supplied = 0;
      for (int r = 0; r < saved_ranks; ++r) {
        ShardFileReader file(shard_file_name(prefix, r, saved_ranks), saved_ranks, r,
                             options_.state_per_parameter, units_.sizes(), comm_.rank());
        for (std::size_t u = 0; u < units_.count(); ++u) {
          const ShardUnit& unit = units_.unit(u);
          supplied += file.read_overlap(unit.offset + unit.shard.begin, units_.master(u),
                                        units_.state(u).state.span());
        }
      }
      const std::size_t mine = units_.layout().shard_elements();
      if (supplied != mine)
        step_.fail("load_shards: the files under '" + prefix + "' supply " +
                   std::to_string(supplied) + " of this rank's " + std::to_string(mine) +
                   " elements");
    } catch (const Error& e) {
      problem = e.what();
    }
    agree_or_throw(problem, Operation::sharded_load_shards);
  }

 private:
  // A local problem on some rank fails every rank, with the same kind.
  void agree_or_throw(const std::string& problem, Operation what) {
    const int rank = comm_.rank();
    std::int32_t bad[2] = {problem.empty() ? -1 : rank, 0};
    guard_.guarded([&] { all_reduce(comm_, std::span<std::int32_t>(bad, 1), max{}); });
    if (bad[0] < 0) return;
    if (!problem.empty())
      throw Error(ErrorKind::invalid_argument, what, Error::Rank{rank}, problem);
    throw Error(
        ErrorKind::invalid_argument, what, Error::Rank{rank}, Error::Peer{bad[0]},
        "rank " + std::to_string(bad[0]) + " failed its part of " + std::string(name_of(what)));
  }

  ShardedUnits& units_;
  Communicator<X>& comm_;
  StepGuard& guard_;
  const StepState& step_;
  const ShardedDataParallelOptions& options_;
};

}  // namespace colt::detail
