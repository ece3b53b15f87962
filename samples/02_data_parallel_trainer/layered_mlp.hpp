#pragma once
// A deeper character-level MLP for sharded data parallelism: the embedding, `layers` tanh
// layers of `hidden` units, and the softmax output. With one layer it is char_mlp::Model's
// network; with many, the model state can be cut into per-layer units, gathered one layer at a
// time (ZeRO stage 3 / FSDP needs layers to shard by).
//
// Unlike char_mlp::Model it keeps *views* of its parameters and gradients, bound from outside:
// ShardedDataParallel owns the memory and frees it between uses, or own_storage() gives the
// model memory of its own (plain DataParallel). Forward and backward run layer by layer over
// the whole batch and tell the trainer, through hooks, before each tensor is read or its
// gradient written (forward(t), backward(t)) and when its gradient is final (ready(t)).
// Gradients are added into the bound buffers: whoever owns them zeroes them between steps.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "char_mlp.hpp"

namespace char_mlp {

struct NoHooks {
  void forward(std::size_t) {}
  void backward(std::size_t) {}
  void ready(std::size_t) {}
};

class LayeredModel {
 public:
  LayeredModel(Shape shape, int layers, std::uint64_t seed)
      : shape_(shape), layers_(static_cast<std::size_t>(layers)) {
    const std::size_t E = static_cast<std::size_t>(shape.embed);
    const std::size_t in = static_cast<std::size_t>(shape.context) * E;
    const std::size_t H = static_cast<std::size_t>(shape.hidden);
    sizes_.push_back(vocab * E);
    for (std::size_t l = 0; l < layers_; ++l) {
      sizes_.push_back((l == 0 ? in : H) * H);
      sizes_.push_back(H);
    }
    sizes_.push_back(H * vocab);
    sizes_.push_back(vocab);
    params_.resize(sizes_.size());
    grads_.resize(sizes_.size());
    // The same initialisation as char_mlp::Model, layer by layer (tanh-scaled weights).
    colt::partition::SplitMix64 rng(seed);
    initial_.resize(sizes_.size());
    for (std::size_t t = 0; t < sizes_.size(); ++t) initial_[t].assign(sizes_[t], 0.0f);
    for (float& x : initial_[0]) x = uniform(rng);
    for (std::size_t l = 0; l < layers_; ++l) {
      const float fan_in = static_cast<float>(l == 0 ? in : H);
      const float scale = (5.0f / 3.0f) / std::sqrt(fan_in) * std::sqrt(3.0f);
      for (float& x : initial_[weight(l)]) x = uniform(rng) * scale;
      for (float& x : initial_[bias(l)]) x = uniform(rng) * 0.01f;
    }
    for (float& x : initial_[output_weight()])
      x = uniform(rng) * 0.1f / std::sqrt(static_cast<float>(H));
  }

  std::size_t tensor_count() const { return sizes_.size(); }
  std::size_t weight(std::size_t layer) const { return 1 + 2 * layer; }
  std::size_t bias(std::size_t layer) const { return 2 + 2 * layer; }
  std::size_t output_weight() const { return 1 + 2 * layers_; }
  std::size_t output_bias() const { return 2 + 2 * layers_; }
  std::size_t parameter_count() const {
    std::size_t n = 0;
    for (std::size_t s : sizes_) n += s;
    return n;
  }

  // The seeded initial values, until drop_initial() (once the owner of the memory has them).
  std::span<const float> initial(std::size_t t) const { return initial_[t]; }
  void drop_initial() { std::vector<std::vector<float>>().swap(initial_); }

  void bind(std::size_t t, std::span<float> param, std::span<float> grad) {
    params_[t] = param;
    grads_[t] = grad;
  }
  std::span<float> param(std::size_t t) { return params_[t]; }
  std::span<float> grad(std::size_t t) { return grads_[t]; }

  // Memory of the model's own, initialised from the seed (plain DataParallel).
  void own_storage() {
    own_params_.resize(sizes_.size());
    own_grads_.resize(sizes_.size());
    for (std::size_t t = 0; t < sizes_.size(); ++t) {
      own_params_[t].assign(initial_[t].begin(), initial_[t].end());
      own_grads_[t].assign(sizes_[t], 0.0f);
      bind(t, own_params_[t], own_grads_[t]);
    }
  }
  std::size_t owned_parameter_bytes() const { return owned_bytes(own_params_); }
  std::size_t owned_gradient_bytes() const { return owned_bytes(own_grads_); }
  void zero_owned_gradients() {
    for (auto& g : own_grads_) std::fill(g.begin(), g.end(), 0.0f);
  }

  template <class Hooks>
  double loss(std::span<const Example> batch, Hooks& hooks) {
    return forward(batch, hooks);
  }

  template <class Hooks>
  double forward_backward(std::span<const Example> batch, Hooks& hooks) {
    const double mean_loss = forward(batch, hooks);
    backward(batch, hooks);
    return mean_loss;
  }

 private:
  static std::size_t owned_bytes(const std::vector<std::vector<float>>& v) {
    std::size_t n = 0;
    for (const auto& x : v) n += x.capacity() * sizeof(float);
    return n;
  }

  // acts_[0] = the concatenated embeddings, acts_[l + 1] = layer l's tanh output.
  template <class Hooks>
  double forward(std::span<const Example> batch, Hooks& hooks) {
    const std::size_t n = batch.size();
    const std::size_t E = static_cast<std::size_t>(shape_.embed);
    const std::size_t in = static_cast<std::size_t>(shape_.context) * E;
    const std::size_t H = static_cast<std::size_t>(shape_.hidden);
    acts_.resize(layers_ + 1);
    hooks.forward(0);
    acts_[0].resize(n * in);
    const float* C = params_[0].data();
    for (std::size_t b = 0; b < n; ++b)
      for (int c = 0; c < shape_.context; ++c)
        std::copy_n(C + batch[b].context[static_cast<std::size_t>(c)] * E, E,
                    acts_[0].data() + b * in + static_cast<std::size_t>(c) * E);
    for (std::size_t l = 0; l < layers_; ++l) {
      hooks.forward(weight(l));
      hooks.forward(bias(l));
      const std::size_t width = l == 0 ? in : H;
      acts_[l + 1].resize(n * H);
      for (std::size_t b = 0; b < n; ++b) {
        float* h = acts_[l + 1].data() + b * H;
        affine(acts_[l].data() + b * width, width, params_[weight(l)].data(),
               params_[bias(l)].data(), H, h);
        for (std::size_t j = 0; j < H; ++j) h[j] = std::tanh(h[j]);
      }
    }
    hooks.forward(output_weight());
    hooks.forward(output_bias());
    probs_.resize(n * vocab);
    double total = 0;
    for (std::size_t b = 0; b < n; ++b) {
      float* p = probs_.data() + b * vocab;
      affine(acts_[layers_].data() + b * H, H, params_[output_weight()].data(),
             params_[output_bias()].data(), vocab, p);
      total += softmax_cross_entropy(p, batch[b].target);
    }
    return n ? total / static_cast<double>(n) : 0.0;
  }

  template <class Hooks>
  void backward(std::span<const Example> batch, Hooks& hooks) {
    const std::size_t n = batch.size();
    const std::size_t E = static_cast<std::size_t>(shape_.embed);
    const std::size_t in = static_cast<std::size_t>(shape_.context) * E;
    const std::size_t H = static_cast<std::size_t>(shape_.hidden);
    const float scale = n ? 1.0f / static_cast<float>(n) : 0.0f;
    for (std::size_t b = 0; b < n; ++b)
      softmax_gradient(probs_.data() + b * vocab, batch[b].target, scale);

    // Output layer: its gradients, then d(last tanh output), kept in delta_.
    hooks.backward(output_weight());
    hooks.backward(output_bias());
    const float* Wo = params_[output_weight()].data();
    for (std::size_t b = 0; b < n; ++b)
      add_affine_gradient(acts_[layers_].data() + b * H, H, probs_.data() + b * vocab, vocab,
                          grads_[output_weight()].data(), grads_[output_bias()].data());
    delta_.resize(n * H);
    for (std::size_t b = 0; b < n; ++b)
      for (std::size_t j = 0; j < H; ++j)
        delta_[b * H + j] = dot(probs_.data() + b * vocab, Wo + j * vocab, vocab);
    hooks.ready(output_weight());
    hooks.ready(output_bias());

    // Hidden layers, last first: delta_ = dL/d(output of layer l) becomes dL/d(its input).
    for (std::size_t l = layers_; l-- > 0;) {
      hooks.backward(weight(l));
      hooks.backward(bias(l));
      const std::size_t width = l == 0 ? in : H;
      const float* h = acts_[l + 1].data();
      for (std::size_t i = 0; i < n * H; ++i) delta_[i] *= 1.0f - h[i] * h[i];  // through tanh
      for (std::size_t b = 0; b < n; ++b)
        add_affine_gradient(acts_[l].data() + b * width, width, delta_.data() + b * H, H,
                            grads_[weight(l)].data(), grads_[bias(l)].data());
      const float* W = params_[weight(l)].data();
      previous_.resize(n * width);
      for (std::size_t b = 0; b < n; ++b)
        for (std::size_t k = 0; k < width; ++k)
          previous_[b * width + k] = dot(delta_.data() + b * H, W + k * H, H);
      delta_.swap(previous_);
      hooks.ready(weight(l));
      hooks.ready(bias(l));
    }

    // Embedding: delta_ now holds dL/d(concatenated embeddings), scattered into the rows used.
    hooks.backward(0);
    float* gC = grads_[0].data();
    for (std::size_t b = 0; b < n; ++b)
      for (std::size_t k = 0; k < in; ++k)
        gC[batch[b].context[k / E] * E + k % E] += delta_[b * in + k];
    hooks.ready(0);
  }

  Shape shape_;
  std::size_t layers_;
  std::vector<std::size_t> sizes_;
  std::vector<std::vector<float>> initial_;
  std::vector<std::span<float>> params_, grads_;
  std::vector<std::vector<float>> own_params_, own_grads_;
  std::vector<std::vector<float>> acts_;
  std::vector<float> probs_, delta_, previous_;
};

}  // namespace char_mlp
