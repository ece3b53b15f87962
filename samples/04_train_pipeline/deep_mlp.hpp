#pragma once
// A deeper character MLP for pipeline parallelism: the data-parallel sample's embedding and
// softmax with `layers` dense layers between (tanh on all but the last), cut into consecutive
// stages by colt::Pipeline. Layer 0 owns the embedding; the last layer ends in the loss.
//
// `Stage` is the colt::PipelineStage for one rank's layers: it keeps each micro-batch's
// activations from forward to backward and accumulates its layers' gradients. Each layer is
// initialised from its own seed, so a stage builds exactly its layers of the one model, and a
// model cut into any stages is the same model.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../02_data_parallel_trainer/char_mlp.hpp"
#include "../common/adam.hpp"
#include "../common/naive_gemm.hpp"
#include "colt/core/partition.hpp"

namespace deep_mlp {

using char_mlp::Example;
using char_mlp::vocab;

struct Shape {
  int context = 4;
  int embed = 16;
  int hidden = 128;
  int layers = 6;  // dense layers, at least 2
};

class Stage {
 public:
  Stage(Shape shape, std::uint64_t seed, colt::partition::Range layers)
      : shape_(shape), first_(layers.begin), end_(layers.end) {
    if (shape.layers < 2) throw std::invalid_argument("the deep MLP needs at least 2 layers");
    if (layers.end > static_cast<std::size_t>(shape.layers) || layers.size() == 0)
      throw std::invalid_argument("stage layers out of range");
    if (first_ == 0) {
      colt::partition::SplitMix64 rng(seed);
      embedding_.resize(static_cast<std::size_t>(vocab * shape.embed));
      for (float& x : embedding_) x = char_mlp::uniform(rng);
      embedding_grad_.assign(embedding_.size(), 0.0f);
    }
    for (std::size_t l = first_; l < end_; ++l) {
      Dense d;
      d.in = width_in(l);
      d.out = width_out(l);
      d.w.resize(d.in * d.out);
      d.b.resize(d.out);
      colt::partition::SplitMix64 rng(seed * 1000003 + l + 1);
      const float scale =
          last(l) ? 0.1f / std::sqrt(static_cast<float>(d.in))
                  : (5.0f / 3.0f) / std::sqrt(static_cast<float>(d.in)) * std::sqrt(3.0f);
      for (float& x : d.w) x = char_mlp::uniform(rng) * scale;
      for (float& x : d.b) x = char_mlp::uniform(rng) * 0.01f;
      d.gw.assign(d.w.size(), 0.0f);
      d.gb.assign(d.b.size(), 0.0f);
      dense_.push_back(std::move(d));
    }
  }

  Stage(const Stage&) = delete;  // the tensors() spans point into it
  Stage& operator=(const Stage&) = delete;

  std::vector<samples::Tensor> tensors() {
    std::vector<samples::Tensor> out;
    if (first_ == 0) out.push_back({embedding_, embedding_grad_});
    for (Dense& d : dense_) {
      out.push_back({d.w, d.gw});
      out.push_back({d.b, d.gb});
    }
    return out;
  }

  // The global batch of this step, cut into `micro_batches` (every stage gets the same batch:
  // the first reads the contexts, the last the targets). Zeroes the gradients and the loss.
  void begin_step(std::span<const Example> batch, int micro_batches) {
    batch_ = batch;
    micro_batches_ = micro_batches;
    if (acts_.size() < static_cast<std::size_t>(micro_batches)) {
      acts_.resize(static_cast<std::size_t>(micro_batches));
      stage_input_.resize(acts_.size());
    }
    std::fill(embedding_grad_.begin(), embedding_grad_.end(), 0.0f);
    for (Dense& d : dense_) {
      std::fill(d.gw.begin(), d.gw.end(), 0.0f);
      std::fill(d.gb.begin(), d.gb.end(), 0.0f);
    }
    loss_sum_ = 0;
  }

  // ---- colt::PipelineStage<float>
  std::size_t input_count(int m) const { return rows(m).size() * width_in(first_); }

  std::span<const float> forward(int m, std::span<const float> input) {
    const colt::partition::Range r = rows(m);
    const std::size_t n = r.size();
    auto& a = acts_[static_cast<std::size_t>(m)];
    a.resize(dense_.size() + 1);
    if (first_ == 0) {
      const std::size_t E = static_cast<std::size_t>(shape_.embed), in = width_in(0);
      a[0].resize(n * in);
      for (std::size_t b = 0; b < n; ++b)
        for (int c = 0; c < shape_.context; ++c)
          std::copy_n(
              embedding_.data() + batch_[r.begin + b].context[static_cast<std::size_t>(c)] * E, E,
              a[0].data() + b * in + static_cast<std::size_t>(c) * E);
      input = a[0];
    }
    // Not copied: colt::Pipeline keeps a received input valid until backward(m) returns.
    stage_input_[static_cast<std::size_t>(m)] = input;
    for (std::size_t j = 0; j < dense_.size(); ++j) {
      const Dense& d = dense_[j];
      a[j + 1].resize(n * d.out);
      samples::naive_gemm(colt::Gemm<float>{false, false, n, d.out, d.in, layer_input(m, j), d.in,
                                            d.w.data(), d.out, a[j + 1].data(), d.out, false});
      float* y = a[j + 1].data();
      for (std::size_t b = 0; b < n; ++b)
        for (std::size_t k = 0; k < d.out; ++k) y[b * d.out + k] += d.b[k];
      if (!last(first_ + j))
        for (float& v : a[j + 1]) v = std::tanh(v);
    }
    if (end_ == static_cast<std::size_t>(shape_.layers)) {  // the last stage: softmax and loss
      float* p = a.back().data();
      for (std::size_t b = 0; b < n; ++b)
        loss_sum_ += char_mlp::softmax_cross_entropy(p + b * vocab, batch_[r.begin + b].target);
    }
    return a.back();
  }

  std::span<const float> backward(int m, std::span<const float> output_grad) {
    const colt::partition::Range r = rows(m);
    const std::size_t n = r.size();
    auto& a = acts_[static_cast<std::size_t>(m)];
    if (end_ == static_cast<std::size_t>(shape_.layers)) {
      // Mean over the whole batch, so micro-batches' gradients add up to the batch's.
      d_ = a.back();
      const float scale = batch_.empty() ? 0.0f : 1.0f / static_cast<float>(batch_.size());
      for (std::size_t b = 0; b < n; ++b)
        char_mlp::softmax_gradient(d_.data() + b * vocab, batch_[r.begin + b].target, scale);
    } else {
      d_.assign(output_grad.begin(), output_grad.end());
    }
    for (std::size_t j = dense_.size(); j-- > 0;) {
      Dense& d = dense_[j];
      if (!last(first_ + j)) {
        const float* y = a[j + 1].data();
        for (std::size_t i = 0; i < d_.size(); ++i) d_[i] *= 1.0f - y[i] * y[i];
      }
      samples::naive_gemm(colt::Gemm<float>{true, false, d.in, d.out, n, layer_input(m, j), d.in,
                                            d_.data(), d.out, d.gw.data(), d.out, true});
      for (std::size_t b = 0; b < n; ++b)
        for (std::size_t k = 0; k < d.out; ++k) d.gb[k] += d_[b * d.out + k];
      dx_.resize(n * d.in);
      samples::naive_gemm(colt::Gemm<float>{false, true, n, d.in, d.out, d_.data(), d.out,
                                            d.w.data(), d.out, dx_.data(), d.in, false});
      d_.swap(dx_);
    }
    if (first_ == 0) {  // d_ is dL/d(embedded input): into the embedding rows used
      const std::size_t E = static_cast<std::size_t>(shape_.embed), in = width_in(0);
      for (std::size_t b = 0; b < n; ++b)
        for (std::size_t k = 0; k < in; ++k)
          embedding_grad_[batch_[r.begin + b].context[k / E] * E + k % E] += d_[b * in + k];
      return {};
    }
    return d_;
  }

  // Sum of the examples' losses this step (the last stage only; 0 elsewhere).
  double loss_sum() const { return loss_sum_; }

 private:
  struct Dense {
    std::size_t in = 0, out = 0;
    std::vector<float> w, b, gw, gb;
  };

  bool last(std::size_t layer) const {
    return layer + 1 == static_cast<std::size_t>(shape_.layers);
  }
  std::size_t width_in(std::size_t layer) const {
    return layer == 0 ? static_cast<std::size_t>(shape_.context * shape_.embed)
                      : static_cast<std::size_t>(shape_.hidden);
  }
  std::size_t width_out(std::size_t layer) const {
    return last(layer) ? vocab : static_cast<std::size_t>(shape_.hidden);
  }
  // Layer first_ + j's input for micro-batch m: the stage's input, or the previous layer's output.
  const float* layer_input(int m, std::size_t j) const {
    return j == 0 ? stage_input_[static_cast<std::size_t>(m)].data()
                  : acts_[static_cast<std::size_t>(m)][j].data();
  }
  colt::partition::Range rows(int m) const {
    return colt::partition::range(batch_.size(), micro_batches_, m);
  }

  Shape shape_;
  std::size_t first_, end_;
  std::vector<float> embedding_, embedding_grad_;
  std::vector<Dense> dense_;
  std::span<const Example> batch_;
  int micro_batches_ = 1;
  // [micro-batch][j]: j = 0 the embedded input (first stage only), j > 0 layer first_ + j - 1's
  // output.
  std::vector<std::vector<std::vector<float>>> acts_;
  std::vector<std::span<const float>> stage_input_;  // [micro-batch]: layer first_'s input
  std::vector<float> d_, dx_;
  double loss_sum_ = 0;
};

}  // namespace deep_mlp
