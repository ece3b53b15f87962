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
  explicit Adam(std::vector<Tensor> tensors = {}, double beta1 = 0.9, double beta2 = 0.999,
                double epsilon = 1e-8)
      : tensors_(std::move(tensors)), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
    for (const Tensor& t : tensors_) {
      m_.emplace_back(t.value.size(), 0.0f);
      v_.emplace_back(t.value.size(), 0.0f);
    }
  }

  void step(double lr) {
    const Coefficients c = next(lr);
    for (std::size_t t = 0; t < tensors_.size(); ++t)
      apply(c, tensors_[t].value, tensors_[t].grad, m_[t].data(), v_[t].data());
  }

  // One step's constants (the bias corrections of step `steps_`, counted from 1).
  struct Coefficients {
    float a, b1, b2, eps;
  };
  Coefficients next(double lr) {
    ++steps_;
    const double c1 = 1.0 - std::pow(beta1_, static_cast<double>(steps_));
    const double c2 = 1.0 - std::pow(beta2_, static_cast<double>(steps_));
    return {static_cast<float>(lr * std::sqrt(c2) / c1), static_cast<float>(beta1_),
            static_cast<float>(beta2_), static_cast<float>(epsilon_ * std::sqrt(c2))};
  }

  // The update of one run of parameters with its moments m and v: elementwise, so a shard
  // updated on its own ends bitwise equal to the same elements of a whole tensor.
  static void apply(const Coefficients& c, std::span<float> p, std::span<const float> g, float* m,
                    float* v) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      m[i] = c.b1 * m[i] + (1 - c.b1) * g[i];
      v[i] = c.b2 * v[i] + (1 - c.b2) * g[i] * g[i];
      p[i] -= c.a * m[i] / (std::sqrt(v[i]) + c.eps);
    }
  }

  // What a checkpoint or a rollback keeps besides the parameters: the steps taken (the bias
  // corrections depend on them) and both moments of every tensor.
  long& steps_taken() { return steps_; }
  std::vector<std::span<float>> moments() {
    std::vector<std::span<float>> all;
    for (std::size_t t = 0; t < m_.size(); ++t) {
      all.emplace_back(m_[t]);
      all.emplace_back(v_[t]);
    }
    return all;
  }

  std::size_t state_bytes() const {
    std::size_t n = 0;
    for (std::size_t t = 0; t < m_.size(); ++t)
      n += (m_[t].capacity() + v_[t].capacity()) * sizeof(float);
    return n;
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
