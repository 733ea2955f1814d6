#include "layers/dropout.h"

#include <cmath>

namespace bionn {

template <typename T>
Dropout<T>::Dropout(double p, bool channelwise) : p_(p), channelwise_(channelwise) {
  if (!(p >= 0.0 && p < 1.0))
    throw std::invalid_argument(kind() + ": p must be in [0, 1), got " + std::to_string(p));
}

template <typename T>
const Tensor<T>& Dropout<T>::forward(const Tensor<T>& x, bool training, Rng& rng) {
  if (channelwise_) {
    if (x.ndim() < 3 || x.batch() == 0)
      throw std::invalid_argument("Dropout2d: input must be (N, C, H, W) or (N, C, L), got " + x.shape().str());
  } else if (x.ndim() == 0 || x.batch() == 0) {
    throw std::invalid_argument("Dropout: input is empty");
  }
  this->input_ = &x;
  identity_ = !training || p_ == 0.0;
  if (identity_) return x;
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p_));
  const int64_t n = x.size();
  spatial_ = channelwise_ ? x.shape().sample_numel() / x.dim(1) : 1;
  const int64_t draws = n / spatial_;
  mask_.resize(Shape{draws});
  T* m = mask_.data();
  // Sequential draws keep the mask a pure function of the seed, whatever the thread count.
  for (int64_t i = 0; i < draws; ++i) m[i] = rng.uniform() < p_ ? T(0) : keep_scale;
  this->output_.resize(x.shape());
  const T* in = x.data();
  T* out = this->output_.data();
  const int64_t s = spatial_;
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] * m[i / s];
  return this->output_;
}

template <typename T>
const Tensor<T>& Dropout<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  if (this->input_ == nullptr) throw std::logic_error(kind() + ".backward: call forward first");
  if (grad_out.shape() != this->input_->shape())
    throw std::invalid_argument(kind() + ".backward: grad_output has shape " + grad_out.shape().str() +
                                ", expected " + this->input_->shape().str());
  if (!need_input_grad) return this->grad_input_;
  if (identity_) return grad_out;
  this->grad_input_.resize(grad_out.shape());
  const T* g = grad_out.data();
  const T* m = mask_.data();
  T* dx = this->grad_input_.data();
  const int64_t n = grad_out.size(), s = spatial_;
  for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * m[i / s];
  return this->grad_input_;
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace bionn
