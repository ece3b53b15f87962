#pragma once
// Parallel inference with colt collectives, two ways:
// - sharded: the root's batch of queries is scattered, each rank predicts its contiguous share
//   with its replica of one model, and the predictions are gathered back in the original order
//   (scatter_v / gather_v: any batch size, shares differ by at most one query).
// - vote: an ensemble; every rank's replica (trained from its own seed) predicts every query,
//   the ranks' one-hot votes are summed at the root (one reduce), and the majority wins, ties
//   going to the lowest character index, so the result does not depend on the rank count's order.
// Queries travel as int64 (5 bits per context character): colt moves element types, not structs.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../02_data_parallel_trainer/char_mlp.hpp"
#include "colt/core/partition.hpp"
#include "colt/collectives/broadcast.hpp"
#include "colt/collectives/gather.hpp"
#include "colt/collectives/reduce.hpp"
#include "colt/collectives/scatter.hpp"

namespace inference {

using char_mlp::Example;

inline std::int64_t encode(const Example& e) {
  std::int64_t code = 0;
  for (std::size_t c = 0; c < char_mlp::max_context; ++c)
    code |= static_cast<std::int64_t>(e.context[c]) << (5 * c);
  return code;
}

inline Example decode(std::int64_t code) {
  Example e;
  for (std::size_t c = 0; c < char_mlp::max_context; ++c)
    e.context[c] = static_cast<std::uint8_t>((code >> (5 * c)) & 31);
  return e;
}

// Query count from the root, then every rank's share; returns the counts.
template <class Comm>
std::vector<std::size_t> shares(Comm& comm, std::size_t root_count, int root) {
  std::int64_t n = static_cast<std::int64_t>(root_count);
  colt::broadcast(comm, std::span<std::int64_t>(&n, 1), root);
  std::vector<std::size_t> counts(static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r)
    counts[static_cast<std::size_t>(r)] =
        colt::partition::range(static_cast<std::size_t>(n), comm.size(), r).size();
  return counts;
}

// `queries` is read on the root only; the predictions, in query order, are returned there
// (empty elsewhere).
template <class Comm>
std::vector<std::int32_t> predict_sharded(Comm& comm, char_mlp::Model& model,
                                          std::span<const Example> queries, int root = 0) {
  const std::vector<std::size_t> counts = shares(comm, queries.size(), root);
  const std::span<const std::size_t> c(counts);
  std::vector<std::int64_t> encoded;
  if (comm.rank() == root)
    for (const Example& e : queries) encoded.push_back(encode(e));
  std::vector<std::int64_t> mine(counts[static_cast<std::size_t>(comm.rank())]);
  colt::scatter_v(comm, encoded, mine, c, root);
  std::vector<Example> local(mine.size());
  std::transform(mine.begin(), mine.end(), local.begin(), decode);
  std::vector<std::int32_t> predicted(local.size());
  model.predict(local, predicted);
  std::vector<std::int32_t> all(comm.rank() == root ? queries.size() : 0);
  colt::gather_v(comm, predicted, all, c, root);
  return all;
}

// Every rank's replica votes on every query; the majority per query at the root.
template <class Comm>
std::vector<std::int32_t> predict_vote(Comm& comm, char_mlp::Model& model,
                                       std::span<const Example> queries, int root = 0) {
  std::int64_t count = static_cast<std::int64_t>(queries.size());
  colt::broadcast(comm, std::span<std::int64_t>(&count, 1), root);
  std::vector<std::int64_t> encoded(static_cast<std::size_t>(count));
  if (comm.rank() == root) std::transform(queries.begin(), queries.end(), encoded.begin(), encode);
  colt::broadcast(comm, encoded, root);
  std::vector<Example> all(encoded.size());
  std::transform(encoded.begin(), encoded.end(), all.begin(), decode);
  std::vector<std::int32_t> predicted(all.size());
  model.predict(all, predicted);
  std::vector<std::int32_t> votes(all.size() * char_mlp::vocab, 0);
  for (std::size_t q = 0; q < all.size(); ++q)
    votes[q * char_mlp::vocab + static_cast<std::size_t>(predicted[q])] = 1;
  colt::reduce(comm, votes, root, colt::sum{});
  if (comm.rank() != root) return {};
  std::vector<std::int32_t> winner(all.size());
  for (std::size_t q = 0; q < all.size(); ++q) {
    const std::int32_t* v = votes.data() + q * char_mlp::vocab;
    winner[q] =
        static_cast<std::int32_t>(std::max_element(v, v + char_mlp::vocab) - v);  // first maximum
  }
  return winner;
}

}  // namespace inference
