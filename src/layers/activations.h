// Element-wise activations. Each is a small functor (value and derivative side by side) plugged
// into one layer template, so the loops inline and vectorise; a new activation is a new functor.
#pragma once
#include <cmath>

#include "core/layer.h"

namespace bionn {

// The derivative is written in terms of the input x and output y, whichever is cheaper.
template <typename T>
struct ReluOp {
  static constexpr const char* name = "ReLU";
  T f(T x) const { return x > T(0) ? x : T(0); }
  T df(T x, T) const { return x > T(0) ? T(1) : T(0); }
};

template <typename T>
struct LeakyReluOp {
  static constexpr const char* name = "LeakyReLU";
  T slope = T(0.01);
  T f(T x) const { return x > T(0) ? x : slope * x; }
  T df(T x, T) const { return x > T(0) ? T(1) : slope; }
};

template <typename T>
struct EluOp {
  static constexpr const char* name = "ELU";
  T alpha = T(1);
  T f(T x) const { return x > T(0) ? x : alpha * std::expm1(x); }
  T df(T x, T y) const { return x > T(0) ? T(1) : y + alpha; }
};

template <typename T>
struct SigmoidOp {
  static constexpr const char* name = "Sigmoid";
  T f(T x) const { return T(1) / (T(1) + std::exp(-x)); }
  T df(T, T y) const { return y * (T(1) - y); }
};

template <typename T>
struct TanhOp {
  static constexpr const char* name = "Tanh";
  T f(T x) const { return std::tanh(x); }
  T df(T, T y) const { return T(1) - y * y; }
};

// softplus(x) = log(1 + exp(beta x)) / beta, linear above `threshold` as in PyTorch.
template <typename T>
struct SoftplusOp {
  static constexpr const char* name = "Softplus";
  T beta = T(1);
  T threshold = T(20);
  T f(T x) const { return x * beta > threshold ? x : std::log1p(std::exp(beta * x)) / beta; }
  T df(T x, T) const {
    if (x * beta > threshold) return T(1);
    return T(1) / (T(1) + std::exp(-beta * x));
  }
};

template <typename T, class Op>
class Activation : public Layer<T> {
 public:
  explicit Activation(Op op = Op()) : op_(op) {}
  std::string kind() const override { return Op::name; }
  const Op& op() const { return op_; }

  const Tensor<T>& forward(const Tensor<T>& x, bool, Rng&) override {
    if (x.ndim() == 0 || x.batch() == 0) throw std::invalid_argument(kind() + ": input is empty");
    this->input_ = &x;
    this->output_.resize(x.shape());
    const T* in = x.data();
    T* out = this->output_.data();
    const int64_t n = x.size();
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) out[i] = op_.f(in[i]);
    return this->output_;
  }

  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override {
    this->require_forward(grad_out, this->output_);
    if (!need_input_grad) return this->grad_input_;
    const Tensor<T>& x = *this->input_;
    this->grad_input_.resize(x.shape());
    const T* in = x.data();
    const T* out = this->output_.data();
    const T* g = grad_out.data();
    T* dx = this->grad_input_.data();
    const int64_t n = x.size();
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * op_.df(in[i], out[i]);
    return this->grad_input_;
  }

 private:
  Op op_;
};

template <typename T> using ReLU = Activation<T, ReluOp<T>>;
template <typename T> using LeakyReLU = Activation<T, LeakyReluOp<T>>;
template <typename T> using ELU = Activation<T, EluOp<T>>;
template <typename T> using Sigmoid = Activation<T, SigmoidOp<T>>;
template <typename T> using Tanh = Activation<T, TanhOp<T>>;
template <typename T> using Softplus = Activation<T, SoftplusOp<T>>;

template <typename T>
LayerPtr<T> make_leaky_relu(double slope);
template <typename T>
LayerPtr<T> make_elu(double alpha);
template <typename T>
LayerPtr<T> make_softplus(double beta, double threshold);

}  // namespace bionn
