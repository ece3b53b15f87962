#pragma once
// A character-level MLP language model (Bengio et al. 2003): the previous `context` characters
// are embedded, concatenated, passed through one tanh layer, and a softmax over the alphabet
// predicts the next character. Forward and backward are written out by hand, plain loops over
// row-major arrays, so the sample needs nothing but colt.
//
// Alphabet: '.' (index 0, word boundary) and 'a'..'z'.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "colt/core/partition.hpp"
#include "../common/adam.hpp"

namespace char_mlp {

inline constexpr int vocab = 27;
inline constexpr int max_context = 8;

inline int index_of(char c) { return c == '.' ? 0 : c - 'a' + 1; }
inline char char_of(int i) { return i == 0 ? '.' : static_cast<char>('a' + i - 1); }

// One training example: the context characters (oldest first) and the character that follows.
struct Example {
  std::array<std::uint8_t, max_context> context{};
  std::uint8_t target = 0;
};

struct Shape {
  int context = 4;   // characters of history
  int embed = 16;    // embedding width per character
  int hidden = 256;  // tanh units
};

// Uniform in [-1, 1) from colt's portable generator: the same initial model everywhere.
inline float uniform(colt::partition::SplitMix64& rng) {
  return static_cast<float>(rng.unit() * 2.0 - 1.0);
}

// Appends character c to a context of `length` characters, dropping the oldest.
inline void push_context(Example& e, int length, std::uint8_t c) {
  std::rotate(e.context.begin(), e.context.begin() + 1, e.context.begin() + length);
  e.context[static_cast<std::size_t>(length - 1)] = c;
}

// One row of a dense layer, y = bias + x W (W is in x out, row-major).
inline void affine(const float* x, std::size_t in, const float* W, const float* bias,
                   std::size_t out, float* y) {
  std::copy_n(bias, out, y);
  for (std::size_t k = 0; k < in; ++k) {
    const float xk = x[k];
    const float* row = W + k * out;
    for (std::size_t j = 0; j < out; ++j) y[j] += xk * row[j];
  }
}

// Adds one row's share of that layer's weight and bias gradients: gW += x^T d, gbias += d.
inline void add_affine_gradient(const float* x, std::size_t in, const float* d, std::size_t out,
                                float* gW, float* gbias) {
  for (std::size_t k = 0; k < in; ++k) {
    const float xk = x[k];
    float* row = gW + k * out;
    for (std::size_t j = 0; j < out; ++j) row[j] += xk * d[j];
  }
  for (std::size_t j = 0; j < out; ++j) gbias[j] += d[j];
}

// d . row over n values: one input's gradient through that layer (dx_k = d . W_k).
inline float dot(const float* d, const float* row, std::size_t n) {
  float sum = 0;
  for (std::size_t j = 0; j < n; ++j) sum += d[j] * row[j];
  return sum;
}

// Turns one row of `vocab` logits into probabilities in place (shifted by the maximum, for
// stability) and returns the cross-entropy -log p[target].
inline double softmax_cross_entropy(float* p, int target) {
  const float top = *std::max_element(p, p + vocab);
  double z = 0;
  for (std::size_t v = 0; v < vocab; ++v) {
    p[v] = std::exp(p[v] - top);
    z += p[v];
  }
  const auto inv = static_cast<float>(1.0 / z);
  for (std::size_t v = 0; v < vocab; ++v) p[v] *= inv;
  return -std::log(std::max(static_cast<double>(p[target]), 1e-30));
}

// dL/dlogits of the mean loss over n examples, from the probabilities, in place:
// (softmax - onehot(target)) / n.
inline void softmax_gradient(float* p, int target, float inverse_n) {
  p[target] -= 1.0f;
  for (std::size_t v = 0; v < vocab; ++v) p[v] *= inverse_n;
}

// Samples the next character from a row of probabilities with a uniform u in [0, 1).
inline int draw(const float* p, double u) {
  double cumulative = 0;
  for (int v = 0; v < vocab; ++v) {
    cumulative += p[v];
    if (u < cumulative) return v;
  }
  return vocab - 1;
}

class Model {
 public:
  // Tensor indices, in registration order; backward finishes them in the reverse order.
  enum Tensor : std::size_t { embedding, w1, b1, w2, b2, tensor_count };

  Model(Shape shape, std::uint64_t seed) : shape_(shape) {
    const int in = shape.context * shape.embed;
    sizes_ = {static_cast<std::size_t>(vocab * shape.embed),
              static_cast<std::size_t>(in * shape.hidden), static_cast<std::size_t>(shape.hidden),
              static_cast<std::size_t>(shape.hidden * vocab), static_cast<std::size_t>(vocab)};
    for (std::size_t t = 0; t < tensor_count; ++t) {
      params_[t].assign(sizes_[t], 0.0f);
      grads_[t].assign(sizes_[t], 0.0f);
    }
    colt::partition::SplitMix64 rng(seed);
    // Scaled so tanh starts unsaturated and the first softmax is nearly uniform.
    for (float& x : params_[embedding]) x = uniform(rng);
    const float w1_scale = (5.0f / 3.0f) / std::sqrt(static_cast<float>(in)) * std::sqrt(3.0f);
    for (float& x : params_[w1]) x = uniform(rng) * w1_scale;
    for (float& x : params_[b1]) x = uniform(rng) * 0.01f;
    for (float& x : params_[w2])
      x = uniform(rng) * 0.1f / std::sqrt(static_cast<float>(shape.hidden));
  }

  const Shape& shape() const { return shape_; }
  std::span<float> param(std::size_t t) { return params_[t]; }
  std::span<float> grad(std::size_t t) { return grads_[t]; }
  std::span<const float> param(std::size_t t) const { return params_[t]; }
  std::size_t parameter_count() const {
    std::size_t n = 0;
    for (auto s : sizes_) n += s;
    return n;
  }

  // Mean cross-entropy over `batch` (0 for an empty batch).
  double loss(std::span<const Example> batch) { return forward(batch); }

  // Mean cross-entropy, and its gradient (mean over the batch) in grad(t). `ready(t)` is called
  // as soon as tensor t's gradient is final, which lets DataParallel start sending it.
  template <class Ready>
  double forward_backward(std::span<const Example> batch, Ready&& ready) {
    const double mean_loss = forward(batch);
    backward(batch, ready);
    return mean_loss;
  }

  // The most likely next character of each example (ties go to the lowest index): out[b].
  void predict(std::span<const Example> batch, std::span<std::int32_t> out) {
    forward(batch);
    for (std::size_t b = 0; b < batch.size(); ++b) {
      const float* p = probs_.data() + b * vocab;
      out[b] = static_cast<std::int32_t>(std::max_element(p, p + vocab) - p);
    }
  }

  // A made-up word: characters drawn from the softmax until the boundary '.'.
  std::string sample(colt::partition::SplitMix64& rng, std::size_t max_length = 24) {
    Example e;
    std::string word;
    for (;;) {
      forward(std::span<const Example>(&e, 1));
      const int next = draw(probs_.data(), rng.unit());
      if (next == 0 || word.size() >= max_length) return word;
      word.push_back(char_of(next));
      push_context(e, shape_.context, static_cast<std::uint8_t>(next));
    }
  }

 private:
  double forward(std::span<const Example> batch) {
    const std::size_t n = batch.size();
    const std::size_t E = static_cast<std::size_t>(shape_.embed);
    const std::size_t in = static_cast<std::size_t>(shape_.context) * E;
    const std::size_t H = static_cast<std::size_t>(shape_.hidden);
    emb_.resize(n * in);
    h_.resize(n * H);
    probs_.resize(n * vocab);
    const float* C = params_[embedding].data();
    const float* W1 = params_[w1].data();
    const float* B1 = params_[b1].data();
    const float* W2 = params_[w2].data();
    const float* B2 = params_[b2].data();
    double total = 0;
    for (std::size_t b = 0; b < n; ++b) {
      float* e = emb_.data() + b * in;
      for (int c = 0; c < shape_.context; ++c)
        std::copy_n(C + batch[b].context[static_cast<std::size_t>(c)] * E, E,
                    e + static_cast<std::size_t>(c) * E);
      float* h = h_.data() + b * H;
      affine(e, in, W1, B1, H, h);
      for (std::size_t j = 0; j < H; ++j) h[j] = std::tanh(h[j]);
      float* p = probs_.data() + b * vocab;
      affine(h, H, W2, B2, vocab, p);
      total += softmax_cross_entropy(p, batch[b].target);
    }
    return n ? total / static_cast<double>(n) : 0.0;
  }

  template <class Ready>
  void backward(std::span<const Example> batch, Ready& ready) {
    const std::size_t n = batch.size();
    const std::size_t E = static_cast<std::size_t>(shape_.embed);
    const std::size_t in = static_cast<std::size_t>(shape_.context) * E;
    const std::size_t H = static_cast<std::size_t>(shape_.hidden);
    for (auto& g : grads_) std::fill(g.begin(), g.end(), 0.0f);
    const float scale = n ? 1.0f / static_cast<float>(n) : 0.0f;

    // Output layer: dlogits = (softmax - onehot) / n, kept in probs_.
    for (std::size_t b = 0; b < n; ++b)
      softmax_gradient(probs_.data() + b * vocab, batch[b].target, scale);
    float* gW2 = grads_[w2].data();
    float* gB2 = grads_[b2].data();
    for (std::size_t b = 0; b < n; ++b)
      add_affine_gradient(h_.data() + b * H, H, probs_.data() + b * vocab, vocab, gW2, gB2);
    ready(w2);
    ready(b2);

    // Hidden layer: dpre = (dlogits W2^T) * (1 - h^2), written over h_.
    const float* W2 = params_[w2].data();
    for (std::size_t b = 0; b < n; ++b) {
      float* h = h_.data() + b * H;
      const float* d = probs_.data() + b * vocab;
      for (std::size_t j = 0; j < H; ++j)
        h[j] = dot(d, W2 + j * vocab, vocab) * (1.0f - h[j] * h[j]);
    }
    float* gW1 = grads_[w1].data();
    float* gB1 = grads_[b1].data();
    for (std::size_t b = 0; b < n; ++b)
      add_affine_gradient(emb_.data() + b * in, in, h_.data() + b * H, H, gW1, gB1);
    ready(w1);
    ready(b1);

    // Embedding: demb = dpre W1^T, scattered into the rows of the characters used.
    const float* W1 = params_[w1].data();
    float* gC = grads_[embedding].data();
    for (std::size_t b = 0; b < n; ++b) {
      const float* dpre = h_.data() + b * H;
      for (std::size_t k = 0; k < in; ++k)
        gC[batch[b].context[k / E] * E + k % E] += dot(dpre, W1 + k * H, H);
    }
    ready(embedding);
  }

  Shape shape_;
  std::array<std::size_t, tensor_count> sizes_{};
  std::array<std::vector<float>, tensor_count> params_;
  std::array<std::vector<float>, tensor_count> grads_;
  std::vector<float> emb_, h_, probs_;  // activations of the last forward
};

// The model's tensors, for samples::Adam: (parameter, gradient) in registration order.
inline std::vector<samples::Tensor> tensors_of(Model& model) {
  std::vector<samples::Tensor> tensors;
  for (std::size_t t = 0; t < Model::tensor_count; ++t)
    tensors.push_back({model.param(t), model.grad(t)});
  return tensors;
}

}  // namespace char_mlp
