// Flatten: (N, C, H, W) -> (N, C*H*W). A copy, so downstream layers own contiguous storage.
#pragma once
#include <cstring>

#include "core/layer.h"

namespace bionn {

template <typename T>
class Flatten : public Layer<T> {
 public:
  BIONN_LAYER_COPYABLE(Flatten)
  std::string kind() const override { return "Flatten"; }
  const Tensor<T>& forward(const Tensor<T>& x, bool, Rng&) override {
    if (x.ndim() < 1 || x.batch() == 0) throw std::invalid_argument("Flatten: input is empty");
    this->input_ = &x;
    this->output_.resize(Shape{x.batch(), x.shape().sample_numel()});
    std::memcpy(this->output_.data(), x.data(), sizeof(T) * static_cast<size_t>(x.size()));
    return this->output_;
  }
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override {
    this->require_forward(grad_out, this->output_);
    if (!need_input_grad) return this->grad_input_;
    this->grad_input_.resize(this->input_->shape());
    std::memcpy(this->grad_input_.data(), grad_out.data(), sizeof(T) * static_cast<size_t>(grad_out.size()));
    return this->grad_input_;
  }
};

}  // namespace bionn
