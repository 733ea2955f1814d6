// Dropout (element-wise) and Dropout2d (whole channels), inverted scaling 1/(1-p) at train time,
// identity at eval time. Masks come from the model's random engine.
#pragma once
#include "core/layer.h"

namespace bionn {

template <typename T>
class Dropout : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(Dropout)
  // channelwise = true gives Dropout2d: one draw per (sample, channel) of an (N, C, H, W) input.
  explicit Dropout(double p = 0.5, bool channelwise = false);
  std::string kind() const override { return channelwise_ ? "Dropout2d" : "Dropout"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;
  double p() const { return p_; }

 private:
  void apply_mask(const T* in, T* out, int64_t n) const;

  double p_;
  bool channelwise_;
  bool identity_ = true;  // last forward was eval mode (or p == 0)
  int64_t spatial_ = 1;
  Tensor<T> mask_;  // 0 or 1/(1-p), per element or per (sample, channel)
};

}  // namespace bionn
