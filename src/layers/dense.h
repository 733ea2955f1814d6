// Dense (fully connected) layer: y = x W^T + b, with W stored (out, in) as in PyTorch.
#pragma once
#include "core/init.h"
#include "core/layer.h"

namespace bionn {

template <typename T>
class Dense : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(Dense)
  Dense(int64_t in_features, int64_t out_features, bool bias = true, const std::string& init = "torch",
        Rng& rng = global_rng());
  std::string kind() const override { return "Dense"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;
  std::vector<Parameter<T>*> parameters() override;
  void reset_parameters(Rng& rng) override;

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  Parameter<T>& weight() { return weight_; }

 private:
  int64_t in_, out_;
  bool has_bias_;
  Init init_;
  Parameter<T> weight_, bias_;
};

}  // namespace bionn
