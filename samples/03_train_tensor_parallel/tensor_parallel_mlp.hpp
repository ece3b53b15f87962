#pragma once
// The data-parallel sample's character MLP with its hidden layer split across the ranks of a
// tensor-parallel group (Megatron-LM style), through colt::ParallelMlp:
//
//   embedding (replicated) -> W1, b1 split by columns -> tanh on each rank's hidden slice
//   -> W2 split by rows -> one all-reduce of the logits -> softmax (replicated), b2 replicated
//
// Backward mirrors it: no communication through W2 and tanh, one all-reduce of the embedding
// gradient after W1. Per step of n examples the group all-reduces n x 27 logits and
// n x context x embed input gradients, whatever the hidden width: the split pays off as the
// hidden layer grows.
//
// Rank 0 builds the single-rank model from the seed and shards it, so a group of any size
// starts from exactly the model one rank would.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "../02_data_parallel_trainer/char_mlp.hpp"
#include "../common/adam.hpp"
#include "../common/naive_gemm.hpp"
#include "colt/adapters/tensor_split.hpp"
#include "colt/collectives/broadcast.hpp"

namespace tensor_parallel {

using char_mlp::Example;
using char_mlp::vocab;

struct Tanh {
  void forward(std::span<const float> pre, std::span<float> post) const {
    for (std::size_t i = 0; i < pre.size(); ++i) post[i] = std::tanh(pre[i]);
  }
  void backward(std::span<const float>, std::span<const float> post, std::span<const float> d_post,
                std::span<float> d_pre) const {
    for (std::size_t i = 0; i < post.size(); ++i) d_pre[i] = d_post[i] * (1.0f - post[i] * post[i]);
  }
};

template <colt::Transport X>
class Model {
 public:
  // Collective over the tensor-parallel group `tp`.
  Model(colt::Communicator<X>& tp, char_mlp::Shape shape, std::uint64_t seed)
      : split_(tp),
        shape_(shape),
        in_(static_cast<std::size_t>(shape.context * shape.embed)),
        hidden_(static_cast<std::size_t>(shape.hidden)),
        mlp_(split_, in_, hidden_, vocab) {
    const std::size_t h = split_.share(hidden_).size();
    embedding_.assign(static_cast<std::size_t>(vocab * shape.embed), 0.0f);
    w1_.assign(in_ * h, 0.0f);
    b1_.assign(h, 0.0f);
    w2_.assign(h * vocab, 0.0f);
    b2_.assign(vocab, 0.0f);
    for (auto* t : {&embedding_, &w1_, &b1_, &w2_, &b2_}) grads_.emplace_back(t->size(), 0.0f);

    std::vector<float> full[char_mlp::Model::tensor_count];
    if (tp.rank() == 0) {
      char_mlp::Model whole(shape, seed);
      for (std::size_t t = 0; t < char_mlp::Model::tensor_count; ++t)
        full[t].assign(whole.param(t).begin(), whole.param(t).end());
      embedding_ = full[char_mlp::Model::embedding];
      b2_ = full[char_mlp::Model::b2];
    }
    split_.shard(std::span<const float>(full[char_mlp::Model::w1]), w1_layout(),
                 std::span<float>(w1_), 0);
    split_.shard(std::span<const float>(full[char_mlp::Model::b1]), b1_layout(),
                 std::span<float>(b1_), 0);
    split_.shard(std::span<const float>(full[char_mlp::Model::w2]), w2_layout(),
                 std::span<float>(w2_), 0);
    colt::broadcast(tp, embedding_, 0);
    colt::broadcast(tp, b2_, 0);
  }

  Model(const Model&) = delete;  // mlp_ points at split_
  Model& operator=(const Model&) = delete;

  // (value, gradient) of every tensor this rank holds: replicated embedding and b2, its shards
  // of W1, b1 and W2. In a fixed order, for Adam and DataParallel.
  std::vector<samples::Tensor> tensors() {
    std::vector<samples::Tensor> out;
    std::vector<float>* values[] = {&embedding_, &w1_, &b1_, &w2_, &b2_};
    for (std::size_t t = 0; t < 5; ++t) out.push_back({*values[t], grads_[t]});
    return out;
  }

  // Mean cross-entropy over `batch` and, into the gradients, its gradient. Collective over the
  // group: every rank passes the same batch.
  double forward_backward(std::span<const Example> batch) {
    for (auto& g : grads_) std::fill(g.begin(), g.end(), 0.0f);
    const std::size_t n = batch.size();
    const double loss = forward(batch);
    // dlogits = (softmax - onehot) / n, the same on every rank.
    const float scale = n ? 1.0f / static_cast<float>(n) : 0.0f;
    for (std::size_t b = 0; b < n; ++b)
      char_mlp::softmax_gradient(probs_.data() + b * vocab, batch[b].target, scale);
    demb_.resize(n * in_);
    mlp_.backward(std::span<const float>(emb_), n, w1(), w2(), buffers(n),
                  std::span<const float>(probs_), std::span<float>(demb_), samples::NaiveGemm{});
    // The embedding rows used, from dL/d(embedded input): the same on every rank (all-reduced).
    const std::size_t E = static_cast<std::size_t>(shape_.embed);
    float* gC = grads_[0].data();
    for (std::size_t b = 0; b < n; ++b)
      for (std::size_t k = 0; k < in_; ++k)
        gC[batch[b].context[k / E] * E + k % E] += demb_[b * in_ + k];
    return loss;
  }

  // Mean cross-entropy, forward only. Collective over the group.
  double loss(std::span<const Example> batch) { return forward(batch); }

  // A made-up word; collective (every rank of the group draws the same characters).
  std::string sample(colt::partition::SplitMix64& rng, std::size_t max_length = 24) {
    Example e;
    std::string word;
    for (;;) {
      forward(std::span<const Example>(&e, 1));
      const int next = char_mlp::draw(probs_.data(), rng.unit());
      if (next == 0 || word.size() >= max_length) return word;
      word.push_back(char_mlp::char_of(next));
      char_mlp::push_context(e, shape_.context, static_cast<std::uint8_t>(next));
    }
  }

  // The whole parameters in the single-rank model's order (embedding, W1, b1, W2, b2), on every
  // rank of the group: what a checkpoint or an equivalence test needs. Collective.
  std::vector<float> gather_parameters() {
    std::vector<float> w1(in_ * hidden_), b1(hidden_), w2(hidden_ * vocab);
    split_.unshard(std::span<const float>(w1_), w1_layout(), std::span<float>(w1));
    split_.unshard(std::span<const float>(b1_), b1_layout(), std::span<float>(b1));
    split_.unshard(std::span<const float>(w2_), w2_layout(), std::span<float>(w2));
    std::vector<float> all(embedding_);
    for (const auto* t : {&w1, &b1, &w2, &b2_}) all.insert(all.end(), t->begin(), t->end());
    return all;
  }

  // Bytes this rank sends and receives in all-reduces per step of n examples (both directions
  // of the two all-reduces' payloads, before the algorithm's own factor).
  std::size_t all_reduce_payload_bytes(std::size_t n) const {
    return n * (vocab + in_) * sizeof(float);
  }
  std::size_t hidden_share() const { return split_.share(hidden_).size(); }

 private:
  colt::Layout w1_layout() const { return {in_, hidden_, colt::Split::columns}; }
  colt::Layout b1_layout() const { return {1, hidden_, colt::Split::columns}; }
  colt::Layout w2_layout() const { return {hidden_, vocab, colt::Split::rows}; }

  colt::LinearShard<float> w1() { return {w1_, b1_, grads_[1], grads_[2]}; }
  colt::LinearShard<float> w2() { return {w2_, b2_, grads_[3], grads_[4]}; }
  colt::ParallelMlpBuffers<float> buffers(std::size_t n) {
    const std::size_t h = n * hidden_share();
    pre_.resize(h);
    post_.resize(h);
    dh_.resize(h);
    return {pre_, post_, dh_};
  }

  // Fills probs_ with the softmax of every example; returns the mean loss.
  double forward(std::span<const Example> batch) {
    const std::size_t n = batch.size();
    const std::size_t E = static_cast<std::size_t>(shape_.embed);
    emb_.resize(n * in_);
    probs_.resize(n * vocab);
    for (std::size_t b = 0; b < n; ++b)
      for (int c = 0; c < shape_.context; ++c)
        std::copy_n(embedding_.data() + batch[b].context[static_cast<std::size_t>(c)] * E, E,
                    emb_.data() + b * in_ + static_cast<std::size_t>(c) * E);
    mlp_.forward(std::span<const float>(emb_), n, w1(), w2(), buffers(n), std::span<float>(probs_),
                 samples::NaiveGemm{});
    double total = 0;
    for (std::size_t b = 0; b < n; ++b)
      total += char_mlp::softmax_cross_entropy(probs_.data() + b * vocab, batch[b].target);
    return n ? total / static_cast<double>(n) : 0.0;
  }

  colt::TensorSplit<X> split_;
  char_mlp::Shape shape_;
  std::size_t in_, hidden_;
  colt::ParallelMlp<X, float, Tanh> mlp_;
  std::vector<float> embedding_, w1_, b1_, w2_, b2_;
  std::vector<std::vector<float>> grads_;  // in tensors() order
  std::vector<float> emb_, probs_, demb_, pre_, post_, dh_;
};

}  // namespace tensor_parallel
