// 2-D convolution (cross-correlation, as in PyTorch) by im2col + GEMM, parallel over the batch.
// Weight layout (out_channels, in_channels, kh, kw).
#pragma once
#include "core/init.h"
#include "core/layer.h"

namespace bionn {

template <typename T>
class Conv2d : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(Conv2d)
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w, int64_t stride = 1,
         int64_t padding = 0, bool bias = true, const std::string& init = "torch", Rng& rng = global_rng());
  std::string kind() const override { return "Conv2d"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;
  std::vector<Parameter<T>*> parameters() override;
  void reset_parameters(Rng& rng) override;

 private:
  void im2col(const T* img, T* col) const;
  void col2im(const T* col, T* img) const;

  int64_t cin_, cout_, kh_, kw_, stride_, pad_;
  bool has_bias_;
  Init init_;
  Parameter<T> weight_, bias_;
  int64_t h_ = 0, w_ = 0, ho_ = 0, wo_ = 0;
  std::vector<Tensor<T>> col_;      // one im2col buffer per thread
  std::vector<Tensor<T>> dweight_;  // per-thread weight-gradient partial sums, reduced in thread order
  std::vector<Tensor<T>> dbias_;
};

}  // namespace bionn
