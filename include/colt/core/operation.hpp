#pragma once
// colt::Operation: the fixed list of things an Error can name as what failed. One enumerator per
// spelling, so a message, a test and a log filter agree on the names, and a typo fails to
// compile instead of printing a new word. The collectives come first, named as a user calls them
// (the v forms apart); then the communicator's life cycle, the device kernels, the partition
// helpers and the adapters, whose names carry their class (TensorSplit::shard).

#include "colt/core/tag.hpp"

#include <cstdint>
#include <string_view>

namespace colt {

enum class Operation : std::uint8_t {
  // Raised below any call (a transport's wait, a checksum): the front door names the call.
  unnamed,
  // Collectives and point-to-point messages.
  all_reduce,
  reduce_scatter,
  reduce_scatter_v,
  all_gather,
  all_gather_v,
  broadcast,
  reduce,
  scatter,
  scatter_v,
  gather,
  gather_v,
  all_to_all,
  all_to_all_v,
  barrier,
  send,
  recv,
  send_recv,
  argument_check,
  internal,
  mismatch_notice,
  // The communicator's life cycle and set-up.
  launch,
  rendezvous,
  ucx_bootstrap,
  settings,
  tuning_file,
  split,
  shrink,
  nodes,  // Communicator::nodes: which ranks share a node
  abort,
  dump_trace,
  // Device kernels.
  cuda,
  cuda_reduce,
  // The partition helpers.
  partition_range,
  partition_rows,
  partition_columns,
  partition_square_grid,
  partition_blocks,
  partition_extract,
  // Adapters.
  data_parallel,
  sharded_data_parallel,
  sharded_save_shard,
  sharded_load_shards,
  sharded_load_state,
  elastic,
  pipeline,
  pipeline_step,
  stage_layout,
  tensor_split,
  tensor_split_shard,
  tensor_split_unshard,
  tensor_split_take_columns,
  tensor_split_column_forward,
  tensor_split_column_backward,
  tensor_split_row_forward,
  tensor_split_row_backward,
  parallel_mlp_forward,
  parallel_mlp_backward,
  // A program's own step, for errors raised by code built on colt (samples, benchmarks).
  user,
};

constexpr std::string_view name_of(Operation operation) noexcept {
  switch (operation) {
    case Operation::unnamed: return "";
    case Operation::all_reduce: return "all_reduce";
    case Operation::reduce_scatter: return "reduce_scatter";
    case Operation::reduce_scatter_v: return "reduce_scatter_v";
    case Operation::all_gather: return "all_gather";
    case Operation::all_gather_v: return "all_gather_v";
    case Operation::broadcast: return "broadcast";
    case Operation::reduce: return "reduce";
    case Operation::scatter: return "scatter";
    case Operation::scatter_v: return "scatter_v";
    case Operation::gather: return "gather";
    case Operation::gather_v: return "gather_v";
    case Operation::all_to_all: return "all_to_all";
    case Operation::all_to_all_v: return "all_to_all_v";
    case Operation::barrier: return "barrier";
    case Operation::send: return "send";
    case Operation::recv: return "recv";
    case Operation::send_recv: return "send_recv";
    case Operation::argument_check: return "argument_check";
    case Operation::internal: return "internal";
    case Operation::mismatch_notice: return "mismatch_notice";
    case Operation::launch: return "launch";
    case Operation::rendezvous: return "rendezvous";
    case Operation::ucx_bootstrap: return "ucx_bootstrap";
    case Operation::settings: return "settings";
    case Operation::tuning_file: return "tuning_file";
    case Operation::split: return "split";
    case Operation::shrink: return "shrink";
    case Operation::nodes: return "nodes";
    case Operation::abort: return "abort";
    case Operation::dump_trace: return "dump_trace";
    case Operation::cuda: return "cuda";
    case Operation::cuda_reduce: return "cuda::reduce";
    case Operation::partition_range: return "partition::range";
    case Operation::partition_rows: return "partition::rows";
    case Operation::partition_columns: return "partition::columns";
    case Operation::partition_square_grid: return "partition::square_grid";
    case Operation::partition_blocks: return "partition::blocks";
    case Operation::partition_extract: return "partition::extract";
    case Operation::data_parallel: return "DataParallel";
    case Operation::sharded_data_parallel: return "ShardedDataParallel";
    case Operation::sharded_save_shard: return "ShardedDataParallel::save_shard";
    case Operation::sharded_load_shards: return "ShardedDataParallel::load_shards";
    case Operation::sharded_load_state: return "ShardedDataParallel::load_state";
    case Operation::elastic: return "ElasticTraining";
    case Operation::pipeline: return "Pipeline";
    case Operation::pipeline_step: return "Pipeline::step";
    case Operation::stage_layout: return "StageLayout";
    case Operation::tensor_split: return "TensorSplit";
    case Operation::tensor_split_shard: return "TensorSplit::shard";
    case Operation::tensor_split_unshard: return "TensorSplit::unshard";
    case Operation::tensor_split_take_columns: return "TensorSplit::take_columns";
    case Operation::tensor_split_column_forward: return "TensorSplit::column_forward";
    case Operation::tensor_split_column_backward: return "TensorSplit::column_backward";
    case Operation::tensor_split_row_forward: return "TensorSplit::row_forward";
    case Operation::tensor_split_row_backward: return "TensorSplit::row_backward";
    case Operation::parallel_mlp_forward: return "ParallelMlp::forward";
    case Operation::parallel_mlp_backward: return "ParallelMlp::backward";
    case Operation::user: return "user";
  }
  return "unknown";
}

// The operation a collective kind names: the plain form, or its v form.
constexpr Operation operation_of(CollectiveKind kind, bool v_form = false) noexcept {
  switch (kind) {
    case CollectiveKind::point_to_point: return Operation::send_recv;
    case CollectiveKind::all_reduce: return Operation::all_reduce;
    case CollectiveKind::reduce_scatter:
      return v_form ? Operation::reduce_scatter_v : Operation::reduce_scatter;
    case CollectiveKind::all_gather:
      return v_form ? Operation::all_gather_v : Operation::all_gather;
    case CollectiveKind::broadcast: return Operation::broadcast;
    case CollectiveKind::reduce: return Operation::reduce;
    case CollectiveKind::scatter: return v_form ? Operation::scatter_v : Operation::scatter;
    case CollectiveKind::gather: return v_form ? Operation::gather_v : Operation::gather;
    case CollectiveKind::barrier: return Operation::barrier;
    case CollectiveKind::split: return Operation::split;
    case CollectiveKind::internal: return Operation::internal;
    case CollectiveKind::argument_check: return Operation::argument_check;
    case CollectiveKind::all_to_all:
      return v_form ? Operation::all_to_all_v : Operation::all_to_all;
    case CollectiveKind::mismatch_notice: return Operation::mismatch_notice;
  }
  return Operation::internal;
}

}  // namespace colt
