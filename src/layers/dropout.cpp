#include "layers/dropout.h"

#include <cmath>

#include "core/parallel.h"

namespace bionn {

template <typename T>
Dropout<T>::Dropout(double p, bool channelwise) : p_(p), channelwise_(channelwise) {
  if (!(p >= 0.0 && p < 1.0)) throw std::invalid_argument(kind() + ": p must be in [0, 1), got " + std::to_string(p));
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
  // Comparing the raw 53-bit integer is the same test as uniform() < p, without the conversion.
  const uint64_t drop_below = static_cast<uint64_t>(std::ceil(std::ldexp(p_, 53)));
  for (int64_t i = 0; i < draws; ++i) m[i] = (rng.next_u64() >> 11) < drop_below ? T(0) : keep_scale;
  this->output_.resize(x.shape());
  apply_mask(x.data(), this->output_.data(), n);
  return this->output_;
}

template <typename T>
const Tensor<T>& Dropout<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  if (this->input_ == nullptr) throw std::logic_error(kind() + ".backward: call forward first");
  if (grad_out.shape() != this->input_->shape())
    throw std::invalid_argument(kind() + ".backward: grad_output has shape " + grad_out.shape().str() + ", expected " +
                                this->input_->shape().str());
  if (!need_input_grad) return this->grad_input_;
  if (identity_) return grad_out;
  this->grad_input_.resize(grad_out.shape());
  apply_mask(grad_out.data(), this->grad_input_.data(), grad_out.size());
  return this->grad_input_;
}

template <typename T>
void Dropout<T>::apply_mask(const T* in, T* out, int64_t n) const {
  const T* m = mask_.data();
  const int64_t s = spatial_;
  if (s == 1) {
    parallel_chunks(n, [&](int64_t a, int64_t len) {
      for (int64_t i = a; i < a + len; ++i) out[i] = in[i] * m[i];
    });
    return;
  }
  for (int64_t r = 0; r < n / s; ++r)  // one mask value per (sample, channel) plane
    for (int64_t k = 0; k < s; ++k) out[r * s + k] = in[r * s + k] * m[r];
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace bionn
