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

#include "colt/adapters/partition.hpp"

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
  int context = 4;  // characters of history
  int embed = 16;   // embedding width per character
  int hidden = 256; // tanh units
};

// Uniform in [-1, 1) from colt's portable generator: the same initial model everywhere.
inline float uniform(colt::partition::SplitMix64& rng) { return static_cast<float>(rng.unit() * 2.0 - 1.0); }

// Appends character c to a context of `length` characters, dropping the oldest.
inline void push_context(Example& e, int length, std::uint8_t c) {
  std::rotate(e.context.begin(), e.context.begin() + 1, e.context.begin() + length);
  e.context[static_cast<std::size_t>(length - 1)] = c;
}

// One row of a dense layer, y = bias + x W (W is in x out, row-major).
inline void affine(const float* x, std::size_t in, const float* W, const float* bias, std::size_t out, float* y) {
  std::copy_n(bias, out, y);
  for (std::size_t k = 0; k < in; ++k) {
    const float xk = x[k];
    const float* row = W + k * out;
    for (std::size_t j = 0; j < out; ++j) y[j] += xk * row[j];
  }
}

// Adds one row's share of that layer's weight and bias gradients: gW += x^T d, gbias += d.
inline void add_affine_gradient(const float* x, std::size_t in, const float* d, std::size_t out, float* gW,
                                float* gbias) {
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

class Model {
 public:
  // Tensor indices, in registration order; backward finishes them in the reverse order.
  enum Tensor : std::size_t { embedding, w1, b1, w2, b2, tensor_count };

  Model(Shape shape, std::uint64_t seed) : shape_(shape) {
    const int in = shape.context * shape.embed;
    sizes_ = {static_cast<std::size_t>(vocab * shape.embed), static_cast<std::size_t>(in * shape.hidden),
              static_cast<std::size_t>(shape.hidden), static_cast<std::size_t>(shape.hidden * vocab),
              static_cast<std::size_t>(vocab)};
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
    for (float& x : params_[w2]) x = uniform(rng) * 0.1f / std::sqrt(static_cast<float>(shape.hidden));
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

  // A made-up word: characters drawn from the softmax until the boundary '.'.
  std::string sample(colt::partition::SplitMix64& rng, std::size_t max_length = 24) {
    Example e;
    std::string word;
    for (;;) {
      forward(std::span<const Example>(&e, 1));
      const double u = rng.unit();
      double cumulative = 0;
      int next = vocab - 1;
      for (int v = 0; v < vocab; ++v) {
        cumulative += probs_[static_cast<std::size_t>(v)];
        if (u < cumulative) {
          next = v;
          break;
        }
      }
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
        std::copy_n(C + batch[b].context[static_cast<std::size_t>(c)] * E, E, e + static_cast<std::size_t>(c) * E);
      float* h = h_.data() + b * H;
      affine(e, in, W1, B1, H, h);
      for (std::size_t j = 0; j < H; ++j) h[j] = std::tanh(h[j]);
      float* p = probs_.data() + b * vocab;
      affine(h, H, W2, B2, vocab, p);
      // Softmax, shifted by the maximum for stability; loss from the log-sum-exp.
      const float top = *std::max_element(p, p + vocab);
      double z = 0;
      for (std::size_t v = 0; v < vocab; ++v) {
        p[v] = std::exp(p[v] - top);
        z += p[v];
      }
      const auto inv = static_cast<float>(1.0 / z);
      for (std::size_t v = 0; v < vocab; ++v) p[v] *= inv;
      total -= std::log(std::max(static_cast<double>(p[batch[b].target]), 1e-30));
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
    for (std::size_t b = 0; b < n; ++b) {
      float* d = probs_.data() + b * vocab;
      d[batch[b].target] -= 1.0f;
      for (std::size_t v = 0; v < vocab; ++v) d[v] *= scale;
    }
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
      for (std::size_t j = 0; j < H; ++j) h[j] = dot(d, W2 + j * vocab, vocab) * (1.0f - h[j] * h[j]);
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
      for (std::size_t k = 0; k < in; ++k) gC[batch[b].context[k / E] * E + k % E] += dot(dpre, W1 + k * H, H);
    }
    ready(embedding);
  }

  Shape shape_;
  std::array<std::size_t, tensor_count> sizes_{};
  std::array<std::vector<float>, tensor_count> params_;
  std::array<std::vector<float>, tensor_count> grads_;
  std::vector<float> emb_, h_, probs_;  // activations of the last forward
};

// Adam (Kingma & Ba 2015) with bias correction; every rank applies it to the same averaged
// gradients, so the replicas stay bitwise equal without ever sending parameters again.
class Adam {
 public:
  Adam(const Model& model, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
      : beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
    for (std::size_t t = 0; t < Model::tensor_count; ++t) {
      m_[t].assign(model.param(t).size(), 0.0f);
      v_[t].assign(model.param(t).size(), 0.0f);
    }
  }
  void step(Model& model, double lr) {
    ++steps_;
    const double c1 = 1.0 - std::pow(beta1_, static_cast<double>(steps_));
    const double c2 = 1.0 - std::pow(beta2_, static_cast<double>(steps_));
    const auto a = static_cast<float>(lr * std::sqrt(c2) / c1);
    const auto b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
    const auto eps = static_cast<float>(epsilon_ * std::sqrt(c2));
    for (std::size_t t = 0; t < Model::tensor_count; ++t) {
      std::span<float> p = model.param(t);
      std::span<float> g = model.grad(t);
      for (std::size_t i = 0; i < p.size(); ++i) {
        m_[t][i] = b1 * m_[t][i] + (1 - b1) * g[i];
        v_[t][i] = b2 * v_[t][i] + (1 - b2) * g[i] * g[i];
        p[i] -= a * m_[t][i] / (std::sqrt(v_[t][i]) + eps);
      }
    }
  }

 private:
  double beta1_, beta2_, epsilon_;
  long steps_ = 0;
  std::array<std::vector<float>, Model::tensor_count> m_, v_;
};

// Plain SGD: p -= lr * g.
inline void sgd_step(Model& model, double lr) {
  for (std::size_t t = 0; t < Model::tensor_count; ++t) {
    std::span<float> p = model.param(t);
    std::span<float> g = model.grad(t);
    for (std::size_t i = 0; i < p.size(); ++i) p[i] -= static_cast<float>(lr) * g[i];
  }
}

}  // namespace char_mlp
