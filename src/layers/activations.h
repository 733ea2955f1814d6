// Element-wise activations. Each is a small functor (value and derivative side by side) plugged
// into one layer template, so the loops inline and vectorise; a new activation is a new functor.
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "core/layer.h"
#include "core/parallel.h"

namespace bionn {

// Each op maps an input array x to y = f(x), and (x, y, grad) to the input gradient, with Eigen
// array expressions: exp/tanh/log1p run vectorised (SIMD), which std::exp in a loop does not.
template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using CArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

template <typename T>
struct ReluOp {
  static constexpr const char* name = "ReLU";
  void f(CArrayMap<T> x, ArrayMap<T> y) const { y = x.max(T(0)); }
  void df(CArrayMap<T> x, CArrayMap<T>, CArrayMap<T> g, ArrayMap<T> dx) const { dx = (x > T(0)).select(g, T(0)); }
};

template <typename T>
struct LeakyReluOp {
  static constexpr const char* name = "LeakyReLU";
  T slope = T(0.01);
  void f(CArrayMap<T> x, ArrayMap<T> y) const { y = (x > T(0)).select(x, slope * x); }
  void df(CArrayMap<T> x, CArrayMap<T>, CArrayMap<T> g, ArrayMap<T> dx) const { dx = (x > T(0)).select(g, slope * g); }
};

template <typename T>
struct EluOp {
  static constexpr const char* name = "ELU";
  T alpha = T(1);
  void f(CArrayMap<T> x, ArrayMap<T> y) const { y = (x > T(0)).select(x, alpha * x.expm1()); }
  // d/dx alpha (e^x - 1) = alpha e^x = y + alpha
  void df(CArrayMap<T> x, CArrayMap<T> y, CArrayMap<T> g, ArrayMap<T> dx) const {
    dx = (x > T(0)).select(g, g * (y + alpha));
  }
};

template <typename T>
struct SigmoidOp {
  static constexpr const char* name = "Sigmoid";
  void f(CArrayMap<T> x, ArrayMap<T> y) const { y = T(1) / (T(1) + (-x).exp()); }
  void df(CArrayMap<T>, CArrayMap<T> y, CArrayMap<T> g, ArrayMap<T> dx) const { dx = g * y * (T(1) - y); }
};

template <typename T>
struct TanhOp {
  static constexpr const char* name = "Tanh";
  void f(CArrayMap<T> x, ArrayMap<T> y) const { y = x.tanh(); }
  void df(CArrayMap<T>, CArrayMap<T> y, CArrayMap<T> g, ArrayMap<T> dx) const { dx = g * (T(1) - y.square()); }
};

// softplus(x) = log(1 + exp(beta x)) / beta, linear above `threshold` as in PyTorch.
template <typename T>
struct SoftplusOp {
  static constexpr const char* name = "Softplus";
  T beta = T(1);
  T threshold = T(20);
  void f(CArrayMap<T> x, ArrayMap<T> y) const { y = (x * beta > threshold).select(x, (x * beta).exp().log1p() / beta); }
  // The derivative is sigmoid(beta x) = 1 - exp(-beta y), since exp(beta y) = 1 + exp(beta x).
  void df(CArrayMap<T> x, CArrayMap<T> y, CArrayMap<T> g, ArrayMap<T> dx) const {
    dx = (x * beta > threshold).select(g, -g * (-beta * y).expm1());
  }
};

template <typename T, class Op>
class Activation : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(Activation)
  explicit Activation(Op op = Op()) : op_(op) {}
  std::string kind() const override { return Op::name; }
  const Op& op() const { return op_; }

  const Tensor<T>& forward(const Tensor<T>& x, bool, Rng&) override {
    if (x.ndim() == 0 || x.batch() == 0) throw std::invalid_argument(kind() + ": input is empty");
    this->input_ = &x;
    this->output_.resize(x.shape());
    const T* in = x.data();
    T* out = this->output_.data();
    parallel_chunks(x.size(), [&](int64_t a, int64_t n) {
      in_blocks(n, [&](int64_t off, int64_t len, bool padded) {
        if (!padded) return op_.f(CArrayMap<T>(in + a + off, len), ArrayMap<T>(out + a + off, len));
        alignas(64) T xb[kBlock] = {}, yb[kBlock];
        std::copy(in + a + off, in + a + off + len, xb);
        op_.f(CArrayMap<T>(xb, kBlock), ArrayMap<T>(yb, kBlock));
        std::copy(yb, yb + len, out + a + off);
      });
    });
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
    parallel_chunks(x.size(), [&](int64_t a, int64_t n) {
      in_blocks(n, [&](int64_t off, int64_t len, bool padded) {
        const int64_t o = a + off;
        if (!padded)
          return op_.df(CArrayMap<T>(in + o, len), CArrayMap<T>(out + o, len), CArrayMap<T>(g + o, len),
                        ArrayMap<T>(dx + o, len));
        alignas(64) T xb[kBlock] = {}, yb[kBlock] = {}, gb[kBlock] = {}, db[kBlock];
        std::copy(in + o, in + o + len, xb);
        std::copy(out + o, out + o + len, yb);
        std::copy(g + o, g + o + len, gb);
        op_.df(CArrayMap<T>(xb, kBlock), CArrayMap<T>(yb, kBlock), CArrayMap<T>(gb, kBlock), ArrayMap<T>(db, kBlock));
        std::copy(db, db + len, dx + o);
      });
    });
    return this->grad_input_;
  }

 private:
  // Eigen runs a vectorised expression's unaligned head and ragged tail through scalar code, whose
  // exp() rounds differently from the SIMD one; equal inputs would then give outputs that depend on
  // their position. So every element goes through the SIMD path: chunks start aligned (see
  // parallel_chunks), the body is a whole number of blocks, and the tail is computed in a padded block.
  static constexpr int64_t kBlock = 16;
  template <class F>
  static void in_blocks(int64_t n, F&& f) {
    const int64_t body = n - n % kBlock;
    if (body > 0) f(0, body, false);
    if (n > body) f(body, n - body, true);
  }

  Op op_;
};

template <typename T>
using ReLU = Activation<T, ReluOp<T>>;
template <typename T>
using LeakyReLU = Activation<T, LeakyReluOp<T>>;
template <typename T>
using ELU = Activation<T, EluOp<T>>;
template <typename T>
using Sigmoid = Activation<T, SigmoidOp<T>>;
template <typename T>
using Tanh = Activation<T, TanhOp<T>>;
template <typename T>
using Softplus = Activation<T, SoftplusOp<T>>;

template <typename T>
LayerPtr<T> make_leaky_relu(double slope);
template <typename T>
LayerPtr<T> make_elu(double alpha);
template <typename T>
LayerPtr<T> make_softplus(double beta, double threshold);

}  // namespace bionn
