// Flexible layer (Evanson et al., "Biomimetic computations improve neural network robustness",
// Eq. 1): a convolution and a max-pooling computed in parallel on the same input, with the same
// spatial output size, combined unit by unit through a soft threshold mask
//
//   f_flex = σ((T − f_max)·s)·f_max + σ(−(T − f_max)·s)·f_conv,      s = 50 by default,
//
// so a unit outputs its max-pooled input where that is below the threshold T and the convolution
// elsewhere. The pooled map has the input's channels: with one input channel it is broadcast over
// every output channel (the paper's Conv2d(1,12,5) ‖ MaxPool2d(5,1)); otherwise the input and
// output channel counts must agree (VGG block 1: Conv2d(64,64,3) ‖ MaxPool2d(3,1)).
//
// Threshold modes (one tensor T per output unit, shape (C_out, H_out, W_out)):
//   learned  — T is a trainable Parameter tagged "threshold" (the paper's "standard" layer);
//   uniform  — T = a fixed value everywhere, not trained ("fixed, uniform thresholds");
//   random   — every element of T is 0 or 1 with probability 1/2, drawn afresh at every forward
//              pass, in training and in inference, from the engine passed to forward (seeded);
//   reverse  — learned T with the comparison reversed: max-pooling where f_max is ABOVE T;
//   baseline — the mask is exactly 0, i.e. the convolution everywhere (T = −∞).
#pragma once
#include <string>

#include "core/layer.h"
#include "layers/conv2d.h"
#include "layers/pooling.h"

namespace bionn {

enum class ThresholdMode { Learned, Uniform, Random, Reverse, Baseline };
ThresholdMode parse_threshold_mode(const std::string& mode);
std::string threshold_mode_name(ThresholdMode mode);

struct FlexibleOptions {
  int64_t in_channels = 1, out_channels = 1;
  int64_t kernel_h = 3, kernel_w = 3, stride = 1, padding = 0;  // the convolution
  int64_t pool_kernel = 3, pool_stride = 1, pool_padding = 0;   // the max-pooling
  int64_t input_h = 0, input_w = 0;                             // fixes the threshold tensor's shape
  std::string threshold_mode = "learned";
  double threshold_init = 0.5;  // learned/reverse: initial value of every T; uniform: the fixed value
  double scale = 50.0;          // s in Eq. 1
  bool bias = true;
  std::string init = "torch";
};

template <typename T>
class FlexibleConv2d : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(FlexibleConv2d)
  FlexibleConv2d(const FlexibleOptions& options, Rng& rng = global_rng());
  std::string kind() const override { return "FlexibleConv2d"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;
  std::vector<Parameter<T>*> parameters() override;
  void reset_parameters(Rng& rng) override;

  ThresholdMode mode() const { return mode_; }
  // The uniform mode's fixed value (changing it at inference time is Fig. 3's experiment).
  double uniform_threshold() const { return uniform_value_; }
  void set_uniform_threshold(double value);
  // Mask σ(±(T − f_max)·s) of the last forward pass: the share of max-pooling in each unit.
  const Tensor<T>& last_mask() const { return mask_; }
  const Tensor<T>& last_conv() const { return conv_.output_ref(); }
  Parameter<T>& threshold() { return threshold_; }
  const FlexibleOptions& options() const { return opt_; }
  int64_t out_h() const { return ho_; }
  int64_t out_w() const { return wo_; }

 private:
  // A Conv2d/Pool2d exposing its output buffer to the combination step.
  struct ConvPart : Conv2d<T> {
    using Conv2d<T>::Conv2d;
    const Tensor<T>& output_ref() const { return this->output_; }
  };

  FlexibleOptions opt_;
  ThresholdMode mode_;
  double uniform_value_;
  int64_t ho_ = 0, wo_ = 0;
  ConvPart conv_;
  Pool2d<T> pool_;
  Parameter<T> threshold_;      // (C_out, H_out, W_out); empty outside learned/reverse mode
  Tensor<T> random_threshold_;  // random mode: this forward's draws, (N, C_out, H_out, W_out)
  Tensor<T> mask_;              // (N, C_out, H_out, W_out)
  const Tensor<T>* pooled_ = nullptr;
  Tensor<T> grad_conv_, grad_pool_;
};

}  // namespace bionn
