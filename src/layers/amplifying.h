// Amplifying and attenuating neurons (Jung & Kwon, "Improving Neural Networks by Adopting Amplifying
// and Attenuating Neurons").
//
// * ParametricSoftplus: Eq. 5, f(x) = a x + (1 - a) ln(e^x + 1), the paper's activation (a = 0.3).
//   It plugs into the element-wise Activation template (SIMD, like Softplus).
// * SecondaryActivation: a per-neuron activation layer for (N, features) inputs. Every neuron applies
//   a primary activation H; chosen neurons then apply a secondary activation G (Eq. 3-4):
//     amplifying   G(h) = h^2            (Eq. 3)
//     attenuating  G(h) = h / (h^2 + b)  (Eq. 4, b = 1 in the paper)
//   As in Algorithm 1, the derivative F'(x) = G'(H(x)) H'(x) is computed in the forward pass and kept
//   in place of H(x), so backward is one multiply and no extra buffer is needed beyond it.
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "layers/activations.h"

namespace bionn {

// Eq. 5 in the overflow-free form f(x) = a x + (1 - a) (max(x, 0) + log1p(e^{-|x|})): the
// exponent is never positive, so neither e^x (large x) nor ln(1 + e^x) -> 0 (very negative x) loses
// anything. f'(x) = a + (1 - a) sigmoid(x), with sigmoid written 1 / (1 + e^{-x}), which tends
// cleanly to 0 or 1 (e^{-x} = inf gives 0, never NaN).
template <typename T>
struct ParametricSoftplusOp {
  static constexpr const char* name = "ParametricSoftplus";
  T a = T(0.3);
  void f(CArrayMap<T> x, ArrayMap<T> y) const { y = a * x + (T(1) - a) * (x.max(T(0)) + (-x.abs()).exp().log1p()); }
  void df(CArrayMap<T> x, CArrayMap<T>, CArrayMap<T> g, ArrayMap<T> dx) const {
    dx = g * (a + (T(1) - a) / (T(1) + (-x).exp()));
  }
};

template <typename T>
using ParametricSoftplus = Activation<T, ParametricSoftplusOp<T>>;

// Throws std::invalid_argument unless a is finite.
template <typename T>
LayerPtr<T> make_parametric_softplus(double a);

// What one neuron of a SecondaryActivation layer does after its primary activation.
// Linear neurons apply no activation at all (the paper's bias neurons, §4: "for the bias neuron
// ... no activation function was applied"; in the authors' MLP they are trainable).
enum class NeuronKind : uint8_t { Ordinary = 0, Amplifying = 1, Attenuating = 2, Linear = 3 };

// The primary activation H of a SecondaryActivation layer.
enum class PrimaryActivation { ParametricSoftplus, Identity, ReLU, Softplus, Tanh, Sigmoid };
PrimaryActivation parse_primary_activation(const std::string& name);
std::string primary_activation_name(PrimaryActivation act);

struct SecondaryOptions {
  // H: "parametric_softplus" (Eq. 5, the paper's), "identity" (G applied to the input itself, for
  // stacking after any other activation layer), "relu", "softplus", "tanh", "sigmoid".
  std::string activation = "parametric_softplus";
  double a = 0.3;  // Eq. 5's slope, used by parametric_softplus only
  double b = 1.0;  // Eq. 4's regulariser of the attenuating neuron's reciprocal, > 0
  // Neurons that skip H and G (y = x), disjoint from the amplifying and attenuating ones.
  std::vector<int64_t> linear;
};

template <typename T>
class SecondaryActivation : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(SecondaryActivation)
  // amplifying / attenuating: disjoint neuron indices in [0, features), each listed once.
  SecondaryActivation(int64_t features, const std::vector<int64_t>& amplifying, const std::vector<int64_t>& attenuating,
                      const SecondaryOptions& opt = {});
  std::string kind() const override { return "SecondaryActivation"; }

  // x: (N, features). Computes y = F(x) and keeps F'(x) for backward (Algorithm 1).
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;

  int64_t features() const { return features_; }
  const std::vector<NeuronKind>& kinds() const { return kinds_; }
  std::vector<int64_t> amplifying() const { return indices_of(NeuronKind::Amplifying); }
  std::vector<int64_t> attenuating() const { return indices_of(NeuronKind::Attenuating); }
  std::vector<int64_t> linear() const { return indices_of(NeuronKind::Linear); }
  // Switches the secondary activations G on or off (default on). Off, amplifying and attenuating
  // neurons compute H only, like ordinary ones: the authors first train the network as an ordinary
  // one and switch the special neurons on one layer at a time, mid-training.
  void set_secondary_enabled(bool on) { secondary_enabled_ = on; }
  bool secondary_enabled() const { return secondary_enabled_; }
  PrimaryActivation activation() const { return act_; }
  double a() const { return a_; }
  double b() const { return b_; }

 private:
  template <class H>
  void forward_rows(const T* x, int64_t rows, const H& h);
  std::vector<int64_t> indices_of(NeuronKind k) const;

  int64_t features_;
  std::vector<NeuronKind> kinds_;
  PrimaryActivation act_;
  double a_, b_;
  bool secondary_enabled_ = true;
  // F'(x) of the last forward, (N, features): Algorithm 1's "Calculate F'(i, j)".
  Tensor<T> derivative_;
};

}  // namespace bionn
