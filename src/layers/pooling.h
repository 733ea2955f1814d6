// Pooling over (N, C, H, W): MaxPool2d (first maximum wins ties, as in PyTorch; padding acts as
// -inf), AvgPool2d (count_include_pad as in PyTorch's default) and GlobalAvgPool2d -> (N, C).
#pragma once
#include "core/layer.h"

namespace bionn {

template <typename T>
class Pool2d : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(Pool2d)
  enum class Mode { Max, Avg };
  Pool2d(Mode mode, int64_t kernel, int64_t stride, int64_t padding, bool count_include_pad = true);
  std::string kind() const override { return mode_ == Mode::Max ? "MaxPool2d" : "AvgPool2d"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;

 private:
  Mode mode_;
  int64_t k_, stride_, pad_;
  bool count_include_pad_;
  int64_t h_ = 0, w_ = 0, ho_ = 0, wo_ = 0;
  std::vector<int32_t> argmax_;  // per output element: flat index into its input plane
  void max_forward(const T* in, T* out);
};

template <typename T>
class GlobalAvgPool2d : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(GlobalAvgPool2d)
  std::string kind() const override { return "GlobalAvgPool2d"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;
};

}  // namespace bionn
