#include "layers/pooling.h"

#include <limits>

namespace bionn {

template <typename T>
Pool2d<T>::Pool2d(Mode mode, int64_t kernel, int64_t stride, int64_t padding, bool count_include_pad)
    : mode_(mode),
      k_(kernel),
      stride_(stride <= 0 ? kernel : stride),
      pad_(padding),
      count_include_pad_(count_include_pad) {
  if (kernel <= 0) throw std::invalid_argument(kind() + ": kernel_size must be positive");
  if (padding < 0 || padding > kernel / 2)  // PyTorch's bound; also keeps H + 2 * padding from overflowing
    throw std::invalid_argument(kind() + ": padding must be in [0, kernel_size / 2], got " + std::to_string(padding));
}

template <typename T>
const Tensor<T>& Pool2d<T>::forward(const Tensor<T>& x, bool, Rng&) {
  this->require_ndim(x, 4, "(N, C, H, W)");
  h_ = x.dim(2);
  w_ = x.dim(3);
  if (h_ + 2 * pad_ < k_ || w_ + 2 * pad_ < k_)
    throw std::invalid_argument(kind() + ": input " + x.shape().str() + " is smaller than the kernel " +
                                std::to_string(k_));
  ho_ = (h_ + 2 * pad_ - k_) / stride_ + 1;
  wo_ = (w_ + 2 * pad_ - k_) / stride_ + 1;
  this->input_ = &x;
  const int64_t planes = x.dim(0) * x.dim(1);
  this->output_.resize(Shape{x.dim(0), x.dim(1), ho_, wo_});
  if (mode_ == Mode::Max) argmax_.resize(static_cast<size_t>(planes * ho_ * wo_));
  const T* in = x.data();
  T* out = this->output_.data();
  const T area = static_cast<T>(k_ * k_);
#pragma omp parallel for schedule(static) if (planes * ho_ * wo_ * k_ * k_ > (1 << 16))
  for (int64_t p = 0; p < planes; ++p) {
    const T* plane = in + p * h_ * w_;
    for (int64_t oy = 0; oy < ho_; ++oy)
      for (int64_t ox = 0; ox < wo_; ++ox) {
        const int64_t y0 = oy * stride_ - pad_, x0 = ox * stride_ - pad_;
        const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min<int64_t>(y0 + k_, h_);
        const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min<int64_t>(x0 + k_, w_);
        const int64_t o = (p * ho_ + oy) * wo_ + ox;
        if (mode_ == Mode::Max) {
          T best = -std::numeric_limits<T>::infinity();
          int32_t arg = static_cast<int32_t>(ya * w_ + xa);
          for (int64_t y = ya; y < yb; ++y)
            for (int64_t xx = xa; xx < xb; ++xx) {
              const T v = plane[y * w_ + xx];
              if (v > best || std::isnan(v)) {  // strict >: the first maximum wins ties
                best = v;
                arg = static_cast<int32_t>(y * w_ + xx);
              }
            }
          out[o] = best;
          argmax_[static_cast<size_t>(o)] = arg;
        } else {
          T s = 0;
          for (int64_t y = ya; y < yb; ++y)
            for (int64_t xx = xa; xx < xb; ++xx) s += plane[y * w_ + xx];
          const T div = count_include_pad_
                            ? static_cast<T>((std::min(y0 + k_, h_ + pad_) - y0) * (std::min(x0 + k_, w_ + pad_) - x0))
                            : static_cast<T>((yb - ya) * (xb - xa));
          out[o] = s / (div > 0 ? div : area);
        }
      }
  }
  return this->output_;
}

template <typename T>
const Tensor<T>& Pool2d<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  if (!need_input_grad) return this->grad_input_;
  const Tensor<T>& x = *this->input_;
  this->grad_input_.resize(x.shape());
  this->grad_input_.zero();
  const int64_t planes = x.dim(0) * x.dim(1);
  const T* g = grad_out.data();
  T* dx = this->grad_input_.data();
#pragma omp parallel for schedule(static) if (planes * ho_ * wo_ * k_ * k_ > (1 << 16))
  for (int64_t p = 0; p < planes; ++p) {
    T* plane = dx + p * h_ * w_;
    for (int64_t oy = 0; oy < ho_; ++oy)
      for (int64_t ox = 0; ox < wo_; ++ox) {
        const int64_t o = (p * ho_ + oy) * wo_ + ox;
        if (mode_ == Mode::Max) {
          plane[argmax_[static_cast<size_t>(o)]] += g[o];
          continue;
        }
        const int64_t y0 = oy * stride_ - pad_, x0 = ox * stride_ - pad_;
        const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min<int64_t>(y0 + k_, h_);
        const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min<int64_t>(x0 + k_, w_);
        const T div = count_include_pad_
                          ? static_cast<T>((std::min(y0 + k_, h_ + pad_) - y0) * (std::min(x0 + k_, w_ + pad_) - x0))
                          : static_cast<T>((yb - ya) * (xb - xa));
        const T share = g[o] / div;
        for (int64_t y = ya; y < yb; ++y)
          for (int64_t xx = xa; xx < xb; ++xx) plane[y * w_ + xx] += share;
      }
  }
  return this->grad_input_;
}

template <typename T>
const Tensor<T>& GlobalAvgPool2d<T>::forward(const Tensor<T>& x, bool, Rng&) {
  this->require_ndim(x, 4, "(N, C, H, W)");
  this->input_ = &x;
  const int64_t planes = x.dim(0) * x.dim(1), hw = x.dim(2) * x.dim(3);
  if (hw == 0) throw std::invalid_argument("GlobalAvgPool2d: input has no spatial positions");
  this->output_.resize(Shape{x.dim(0), x.dim(1)});
  const T* in = x.data();
  T* out = this->output_.data();
  for (int64_t p = 0; p < planes; ++p) {
    T s = 0;
    for (int64_t k = 0; k < hw; ++k) s += in[p * hw + k];
    out[p] = s / static_cast<T>(hw);
  }
  return this->output_;
}

template <typename T>
const Tensor<T>& GlobalAvgPool2d<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  if (!need_input_grad) return this->grad_input_;
  const Tensor<T>& x = *this->input_;
  this->grad_input_.resize(x.shape());
  const int64_t planes = x.dim(0) * x.dim(1), hw = x.dim(2) * x.dim(3);
  const T* g = grad_out.data();
  T* dx = this->grad_input_.data();
  for (int64_t p = 0; p < planes; ++p) {
    const T v = g[p] / static_cast<T>(hw);
    for (int64_t k = 0; k < hw; ++k) dx[p * hw + k] = v;
  }
  return this->grad_input_;
}

template class Pool2d<float>;
template class Pool2d<double>;
template class GlobalAvgPool2d<float>;
template class GlobalAvgPool2d<double>;

}  // namespace bionn
