#include "layers/amplifying.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "core/limits.h"

namespace bionn {

template <typename T>
LayerPtr<T> make_parametric_softplus(double a) {
  if (!std::isfinite(a) || !std::isfinite(static_cast<T>(a)))
    throw std::invalid_argument("ParametricSoftplus: a must be finite in the layer's dtype");
  ParametricSoftplusOp<T> op;
  op.a = static_cast<T>(a);
  return std::make_shared<ParametricSoftplus<T>>(op);
}

PrimaryActivation parse_primary_activation(const std::string& name) {
  if (name == "parametric_softplus") return PrimaryActivation::ParametricSoftplus;
  if (name == "identity" || name == "linear") return PrimaryActivation::Identity;
  if (name == "relu") return PrimaryActivation::ReLU;
  if (name == "softplus") return PrimaryActivation::Softplus;
  if (name == "tanh") return PrimaryActivation::Tanh;
  if (name == "sigmoid") return PrimaryActivation::Sigmoid;
  throw std::invalid_argument("activation: unknown primary activation '" + name +
                              "', expected one of parametric_softplus, identity, relu, softplus, tanh, sigmoid");
}

std::string primary_activation_name(PrimaryActivation act) {
  switch (act) {
    case PrimaryActivation::ParametricSoftplus:
      return "parametric_softplus";
    case PrimaryActivation::Identity:
      return "identity";
    case PrimaryActivation::ReLU:
      return "relu";
    case PrimaryActivation::Softplus:
      return "softplus";
    case PrimaryActivation::Tanh:
      return "tanh";
    case PrimaryActivation::Sigmoid:
      return "sigmoid";
  }
  return "parametric_softplus";
}

namespace {

// Scalar primary activations: h = H(x) and dh = H'(x) side by side. Layers of this kind are narrow
// (the paper's have 10 neurons), so a scalar loop beats setting up SIMD blocks per row.
template <typename T>
struct PrimaryParametricSoftplus {
  T a;
  void operator()(T x, T& h, T& dh) const {
    const T e = std::exp(-std::abs(x));  // in (0, 1]: no overflow (Eq. 5's second form)
    h = a * x + (T(1) - a) * (std::max(x, T(0)) + std::log1p(e));
    // sigmoid(x) from e = exp(-|x|), exact on both sides of 0.
    const T sig = x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    dh = a + (T(1) - a) * sig;
  }
};
template <typename T>
struct PrimaryIdentity {
  void operator()(T x, T& h, T& dh) const { h = x, dh = T(1); }
};
template <typename T>
struct PrimaryRelu {
  void operator()(T x, T& h, T& dh) const { x > T(0) ? (h = x, dh = T(1)) : (h = T(0), dh = T(0)); }
};
template <typename T>
struct PrimarySoftplus {
  void operator()(T x, T& h, T& dh) const {
    const T e = std::exp(-std::abs(x));
    h = std::max(x, T(0)) + std::log1p(e);
    dh = x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
  }
};
template <typename T>
struct PrimaryTanh {
  void operator()(T x, T& h, T& dh) const { h = std::tanh(x), dh = T(1) - h * h; }
};
template <typename T>
struct PrimarySigmoid {
  void operator()(T x, T& h, T& dh) const {
    const T e = std::exp(-std::abs(x));
    h = x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    dh = h * (T(1) - h);
  }
};

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

template <typename T>
SecondaryActivation<T>::SecondaryActivation(int64_t features, const std::vector<int64_t>& amplifying,
                                            const std::vector<int64_t>& attenuating, const SecondaryOptions& opt)
    : features_(features), act_(PrimaryActivation::ParametricSoftplus), a_(opt.a), b_(opt.b) {
  const std::string n = "SecondaryActivation";
  if (features <= 0) throw std::invalid_argument(n + ": features must be positive, got " + std::to_string(features));
  try {
    act_ = parse_primary_activation(opt.activation);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(n + ": " + e.what());
  }
  if (!std::isfinite(opt.a) || !std::isfinite(static_cast<T>(opt.a)))
    throw std::invalid_argument(n + ": a must be finite, got " + num(opt.a));
  // b > 0 keeps Eq. 4 free of the singularity at h = 0; 1/b must be representable because
  // G'(0) = 1/b.
  const T bt = static_cast<T>(opt.b);
  if (!(opt.b > 0) || !std::isfinite(opt.b) || !(bt > T(0)) || !std::isfinite(bt) || !std::isfinite(T(1) / bt))
    throw std::invalid_argument(n + ": b must be positive with b and 1/b finite in the layer's dtype, got " +
                                num(opt.b));
  checked_elements(n, {{"features", features}}, sizeof(T), 4);
  kinds_.assign(static_cast<size_t>(features), NeuronKind::Ordinary);
  auto mark = [&](const std::vector<int64_t>& idx, NeuronKind k, const char* what) {
    for (int64_t i : idx) {
      if (i < 0 || i >= features)
        throw std::invalid_argument(n + ": " + what + " index " + std::to_string(i) + " is outside [0, " +
                                    std::to_string(features) + ")");
      NeuronKind& slot = kinds_[static_cast<size_t>(i)];
      if (slot != NeuronKind::Ordinary)
        throw std::invalid_argument(n + ": neuron " + std::to_string(i) +
                                    (slot == k ? std::string(" is listed twice in ") + what
                                               : " has two kinds (amplifying/attenuating/linear)"));
      slot = k;
    }
  };
  mark(amplifying, NeuronKind::Amplifying, "amplifying");
  mark(attenuating, NeuronKind::Attenuating, "attenuating");
  mark(opt.linear, NeuronKind::Linear, "linear");
}

template <typename T>
std::vector<int64_t> SecondaryActivation<T>::indices_of(NeuronKind k) const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < kinds_.size(); ++i)
    if (kinds_[i] == k) out.push_back(static_cast<int64_t>(i));
  return out;
}

template <typename T>
template <class H>
void SecondaryActivation<T>::forward_rows(const T* x, int64_t rows, const H& primary) {
  T* y = this->output_.data();
  T* d = derivative_.data();
  const int64_t f = features_;
  // Eq. 4 in the scaled variable u = h / sqrt(b): G(h) = u / (u^2 + 1) / sqrt(b) and
  // G'(h) = (1 - u^2) / (u^2 + 1)^2 / b. For |u| > 1 the same in r = 1/u (numerator and denominator
  // divided by u^2, resp. u^4), so nothing overflows for any h or b: |G| <= 1/(2 sqrt(b)), |G'| <= 1/b.
  const T inv_sqrt_b = T(1) / std::sqrt(static_cast<T>(b_));
  const T inv_b = T(1) / static_cast<T>(b_);
  const NeuronKind* kind = kinds_.data();
  const bool secondary = secondary_enabled_;
  parallel_chunks(
      rows,
      [&](int64_t r0, int64_t count) {
        for (int64_t r = r0; r < r0 + count; ++r) {
          const int64_t o = r * f;
          for (int64_t j = 0; j < f; ++j) {
            T h, dh;
            if (kind[j] == NeuronKind::Linear) {
              y[o + j] = x[o + j];
              d[o + j] = T(1);
              continue;
            }
            primary(x[o + j], h, dh);
            switch (secondary ? kind[j] : NeuronKind::Ordinary) {
              case NeuronKind::Ordinary:
              case NeuronKind::Linear:
                break;
              case NeuronKind::Amplifying:  // Eq. 3, Algorithm 1: F' <- F' * 2y, y <- y^2
                dh *= T(2) * h;
                h *= h;
                break;
              case NeuronKind::Attenuating: {  // Eq. 4, Algorithm 1: F' <- F' (b - y^2) / (y^2 + b)^2
                const T u = h * inv_sqrt_b;
                T g, dg;
                if (std::abs(u) <= T(1)) {
                  const T s = u * u + T(1);
                  g = u / s;
                  dg = (T(1) - u * u) / (s * s);
                } else {
                  const T v = T(1) / u, v2 = v * v, s = T(1) + v2;
                  g = v / s;
                  dg = v2 * (v2 - T(1)) / (s * s);
                }
                h = g * inv_sqrt_b;
                dh *= dg * inv_b;
                break;
              }
            }
            y[o + j] = h;
            d[o + j] = dh;
          }
        }
      },
      rows * f < (int64_t(1) << 15) ? rows + 1 : 0);
}

template <typename T>
const Tensor<T>& SecondaryActivation<T>::forward(const Tensor<T>& x, bool, Rng&) {
  this->require_ndim(x, 2, "(batch, features)");
  if (x.shape()[1] != features_)
    throw std::invalid_argument("SecondaryActivation: input has " + std::to_string(x.shape()[1]) +
                                " features, expected " + std::to_string(features_));
  this->input_ = &x;
  this->output_.resize(x.shape());
  derivative_.resize(x.shape());
  const int64_t rows = x.shape()[0];
  switch (act_) {
    case PrimaryActivation::ParametricSoftplus:
      forward_rows(x.data(), rows, PrimaryParametricSoftplus<T>{static_cast<T>(a_)});
      break;
    case PrimaryActivation::Identity:
      forward_rows(x.data(), rows, PrimaryIdentity<T>{});
      break;
    case PrimaryActivation::ReLU:
      forward_rows(x.data(), rows, PrimaryRelu<T>{});
      break;
    case PrimaryActivation::Softplus:
      forward_rows(x.data(), rows, PrimarySoftplus<T>{});
      break;
    case PrimaryActivation::Tanh:
      forward_rows(x.data(), rows, PrimaryTanh<T>{});
      break;
    case PrimaryActivation::Sigmoid:
      forward_rows(x.data(), rows, PrimarySigmoid<T>{});
      break;
  }
  return this->output_;
}

template <typename T>
const Tensor<T>& SecondaryActivation<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  if (!need_input_grad) return this->grad_input_;
  // "Once the activation function derivative is properly calculated, the error back-propagation
  // method can be used without any modification" (§3.3): dL/dx = dL/dy * F'(x).
  this->grad_input_.resize(grad_out.shape());
  const int64_t n = grad_out.size();
  ArrayMap<T>(this->grad_input_.data(), n) = CArrayMap<T>(grad_out.data(), n) * CArrayMap<T>(derivative_.data(), n);
  return this->grad_input_;
}

template LayerPtr<float> make_parametric_softplus<float>(double);
template LayerPtr<double> make_parametric_softplus<double>(double);
template class SecondaryActivation<float>;
template class SecondaryActivation<double>;

}  // namespace bionn
