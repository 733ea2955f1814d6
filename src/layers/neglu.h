// Negative rectifiers and their generalisations (Maharaj's thesis, chapter 4 and §5.2).
//
//  * NegLU (§4.2): eta(x) = min(0, x); derivative 1 for x < 0 and 0 for x >= 0 (0 at the kink, as
//    -relu(-x) in PyTorch).
//  * SmoothNegLU (§4.2): N(x) = -ln(1 + e^-x) = -softplus(-x), dN/dx = 1 / (e^x + 1). Evaluated
//    as -(max(-x, 0) + log1p(e^-|x|)), which neither overflows nor loses the tiny values of large x.
//  * MixLU (§4.4): one layer in which a chosen set of units are NegLUs and the rest ReLUs. The set is
//    a mask over "units": either the channels/features (dimension 1, broadcast over any trailing
//    spatial dimensions) or every (C, H, W) position. It is fixed (drawn once from an engine, or
//    given explicitly) and saved with the model as the buffer "neglu_mask" (1 = NegLU, 0 = ReLU).
//    The authors' MatConvNet code instead draws a fresh per-element mask at every forward call;
//    that variant is MixLUMode::RandomPerElement. Its backward multiplied the NegLU elements'
//    gradient by the ReLU mask (x > 0); MixLUGrad::ReluMask reproduces that, Exact is the true
//    derivative of min(0, x).
//  * MinMaxout (§5.2): maxout over groups of `pieces` consecutive channels (unit j reads channels
//    j*pieces ... j*pieces + pieces - 1), where a chosen set of units take the min instead of the
//    max. Ties: the first piece attaining the extreme gets the whole gradient (torch.max(dim)'s
//    rule and MaxPool2d's here). Buffer "min_mask" (1 = min unit).
//  * LearnedActivation (§5.2, "make the degree and sign of activation functions learned"):
//    y = a_pos * max(0, x) + a_neg * min(0, x) with per-unit (per-channel) trainable slopes
//    a_pos, a_neg (tag "slope"): (1, 0) is a ReLU, (0, 1) a NegLU, (1, 1) the identity.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/layer.h"
#include "layers/activations.h"

namespace bionn {

template <typename T>
struct NegluOp {
  static constexpr const char* name = "NegLU";
  void f(CArrayMap<T> x, ArrayMap<T> y) const { y = x.min(T(0)); }
  void df(CArrayMap<T> x, CArrayMap<T>, CArrayMap<T> g, ArrayMap<T> dx) const { dx = (x < T(0)).select(g, T(0)); }
};

template <typename T>
struct SmoothNegluOp {
  static constexpr const char* name = "SmoothNegLU";
  void f(CArrayMap<T> x, ArrayMap<T> y) const { y = -((-x).max(T(0)) + (-x.abs()).exp().log1p()); }
  // dN/dx = 1 / (e^x + 1) = 1 - e^N (since e^-N = 1 + e^-x), computed as -expm1(N): N <= 0, so
  // exp never overflows and the small derivatives of large x keep their relative precision.
  void df(CArrayMap<T>, CArrayMap<T> y, CArrayMap<T> g, ArrayMap<T> dx) const { dx = -g * y.expm1(); }
};

template <typename T>
using NegLU = Activation<T, NegluOp<T>>;
template <typename T>
using SmoothNegLU = Activation<T, SmoothNegluOp<T>>;

// Which units of a mask are "special" (NegLU in MixLU, min in MinMaxout): an explicit list, or a
// fraction of the units drawn from an engine (the layer's own seed, else the model's engine).
struct UnitSelection {
  double fraction = 0.0;
  std::vector<int64_t> units;  // explicit indices into the flattened mask; used when is_explicit
  bool is_explicit = false;
  int64_t seed = -1;  // >= 0: draw from Rng(seed), independent of the model's engine
};

// Number of selected units for a fraction: round(fraction * n), halves rounded up.
int64_t selected_count(double fraction, int64_t n);

enum class MixLUMode { Fixed, RandomPerElement };
enum class MixLUGrad { Exact, ReluMask };
MixLUMode parse_mixlu_mode(const std::string& name);
MixLUGrad parse_mixlu_grad(const std::string& name);

template <typename T>
class MixLU : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(MixLU)
  // units_shape: {C} (per feature / per channel) or the full per-sample shape, e.g. {C, H, W}.
  MixLU(const std::vector<int64_t>& units_shape, const UnitSelection& sel, MixLUMode mode = MixLUMode::Fixed,
        MixLUGrad grad = MixLUGrad::Exact, Rng& rng = global_rng());
  std::string kind() const override { return "MixLU"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;
  std::vector<std::pair<std::string, Tensor<T>*>> buffers() override;
  void reset_parameters(Rng& rng) override;

  const Tensor<T>& mask() const { return mask_; }
  int64_t num_units() const { return mask_.size(); }
  MixLUMode mode() const { return mode_; }

 private:
  void draw_mask(Rng& rng);
  std::vector<int64_t> units_shape_;
  UnitSelection sel_;
  MixLUMode mode_;
  MixLUGrad grad_;
  Tensor<T> mask_;                  // fixed mode: 1 = NegLU
  std::vector<uint8_t> elem_mask_;  // random mode: this forward's per-element mask
  std::vector<int64_t> perm_;       // random mode: scratch for the partial shuffle
  int64_t spatial_ = 1;             // elements per unit and sample in fixed mode
};

template <typename T>
class MinMaxout : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(MinMaxout)
  MinMaxout(int64_t num_units, int64_t pieces, const UnitSelection& min_sel, Rng& rng = global_rng());
  std::string kind() const override { return "MinMaxout"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;
  std::vector<std::pair<std::string, Tensor<T>*>> buffers() override;
  void reset_parameters(Rng& rng) override;

  const Tensor<T>& mask() const { return mask_; }
  int64_t num_units() const { return units_; }
  int64_t pieces() const { return pieces_; }

 private:
  int64_t units_, pieces_;
  UnitSelection sel_;
  Tensor<T> mask_;               // 1 = min unit
  std::vector<int32_t> winner_;  // per output element: the piece that won
  int64_t spatial_ = 1;
};

template <typename T>
class LearnedActivation : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(LearnedActivation)
  LearnedActivation(int64_t num_units, double positive_init, double negative_init);
  std::string kind() const override { return "LearnedActivation"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;
  std::vector<Parameter<T>*> parameters() override { return {&pos_, &neg_}; }
  void reset_parameters(Rng& rng) override;

  Parameter<T>& positive_slope() { return pos_; }
  Parameter<T>& negative_slope() { return neg_; }

 private:
  int64_t units_;
  double pos_init_, neg_init_;
  Parameter<T> pos_, neg_;
  int64_t spatial_ = 1;
};

}  // namespace bionn
