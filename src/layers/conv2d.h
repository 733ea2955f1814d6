// 2-D convolution (cross-correlation, as in PyTorch) by im2col + GEMM, parallel over the batch.
// Layers with very few output positions per image (P = ho*wo < kBatchedBelow, e.g. LeNet's 4x4
// kernel on a 4x4 map, P = 1) run one GEMM over a chunk of images instead of one per image: per
// image those products are matrix-vector products that re-read the whole weight for every image.
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
  // col is (K, P) with rows ld elements apart (ld >= P: the image's columns within a wider matrix).
  void im2col(const T* img, T* col, int64_t ld) const;
  void col2im(const T* col, T* img, int64_t ld) const;
  void forward_batched(const T* in, T* out, int64_t n);
  void backward_batched(const T* in, const T* g, T* dx, int64_t n);
  // Images per chunk of the batched path: its (K, chunk*P) im2col matrix holds <= kChunkElements.
  int64_t chunk(int64_t n) const;

 public:
  static constexpr int64_t kBatchedBelow = 16;
  static constexpr int64_t kChunkElements = int64_t(1) << 18;  // 1 MiB of float: stays in L2

 private:
  int64_t cin_, cout_, kh_, kw_, stride_, pad_;
  bool has_bias_;
  Init init_;
  Parameter<T> weight_, bias_;
  int64_t h_ = 0, w_ = 0, ho_ = 0, wo_ = 0;
  std::vector<Tensor<T>> col_;      // one im2col buffer per thread
  std::vector<Tensor<T>> dweight_;  // per-thread weight-gradient partial sums, reduced in thread order
  std::vector<Tensor<T>> dbias_;
  Tensor<T> bcol_, bbuf_;  // batched path: (K, chunk*P) im2col matrix, (C_out, chunk*P) output/gradient
};

}  // namespace bionn
