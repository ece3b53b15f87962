#pragma once
// Adam (Kingma & Ba 2015) with bias correction, over any set of (value, gradient) spans. Every
// rank that holds a replica of a tensor applies it to the same gradient, so replicas stay
// bitwise equal without ever sending parameters again; a rank holding a shard steps its shard.

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

namespace samples {

struct Tensor {
  std::span<float> value;
  std::span<float> grad;
};

class Adam {
 public:
  explicit Adam(std::vector<Tensor> tensors, double beta1 = 0.9, double beta2 = 0.999,
                double epsilon = 1e-8)
      : tensors_(std::move(tensors)), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
    for (const Tensor& t : tensors_) {
      m_.emplace_back(t.value.size(), 0.0f);
      v_.emplace_back(t.value.size(), 0.0f);
    }
  }

  void step(double lr) {
    ++steps_;
    const double c1 = 1.0 - std::pow(beta1_, static_cast<double>(steps_));
    const double c2 = 1.0 - std::pow(beta2_, static_cast<double>(steps_));
    const auto a = static_cast<float>(lr * std::sqrt(c2) / c1);
    const auto b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
    const auto eps = static_cast<float>(epsilon_ * std::sqrt(c2));
    for (std::size_t t = 0; t < tensors_.size(); ++t) {
      std::span<float> p = tensors_[t].value;
      std::span<const float> g = tensors_[t].grad;
      float* m = m_[t].data();
      float* v = v_[t].data();
      for (std::size_t i = 0; i < p.size(); ++i) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= a * m[i] / (std::sqrt(v[i]) + eps);
      }
    }
  }

  // Plain SGD over the same tensors: p -= lr * g.
  void sgd_step(double lr) {
    for (const Tensor& t : tensors_)
      for (std::size_t i = 0; i < t.value.size(); ++i)
        t.value[i] -= static_cast<float>(lr) * t.grad[i];
  }

 private:
  std::vector<Tensor> tensors_;
  double beta1_, beta2_, epsilon_;
  long steps_ = 0;
  std::vector<std::vector<float>> m_, v_;
};

}  // namespace samples
