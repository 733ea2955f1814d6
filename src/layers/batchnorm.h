// Batch normalisation over the channel axis of (N, C) / (N, C, L) (BatchNorm1d) or (N, C, H, W)
// (BatchNorm2d). Running statistics follow PyTorch: running = (1 - momentum) * running +
// momentum * batch_stat, with the unbiased variance in the running estimate.
#pragma once
#include "core/layer.h"

namespace bionn {

template <typename T>
class BatchNorm : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(BatchNorm)
  BatchNorm(int64_t num_features, bool spatial, double eps = 1e-5, double momentum = 0.1, bool affine = true);
  std::string kind() const override { return spatial_ ? "BatchNorm2d" : "BatchNorm1d"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;
  std::vector<Parameter<T>*> parameters() override;
  std::vector<std::pair<std::string, Tensor<T>*>> buffers() override;
  void reset_parameters(Rng& rng) override;

 private:
  int64_t c_;
  bool spatial_;
  double eps_, momentum_;
  bool affine_;
  Parameter<T> weight_, bias_;
  Tensor<T> running_mean_, running_var_, num_batches_tracked_;
  bool last_training_ = false;
  int64_t inner_ = 1;                // spatial positions per channel
  Tensor<T> xhat_;                   // normalised input, kept for backward
  Tensor<T> mean_, invstd_;          // per-channel statistics used by the last forward
  std::vector<double> sum_, sumsq_;  // per-channel accumulators of the (N, C) path

  void forward_rows(const T* in, T* out, T* xh, int64_t n, bool training);
  void backward_rows(const T* g, const T* xh, T* dx, int64_t n);
};

}  // namespace bionn
