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

// Max pooling, one output row at a time: every window element updates the whole row of running
// maxima (best, arg), so the inner loop over output columns is branch-free and vectorises. Each
// window is still scanned in row-major order with a strict >, so the first maximum wins ties (and
// a NaN, as in PyTorch, propagates: the last NaN of the window is taken), exactly as a per-window scan.
template <typename T>
void Pool2d<T>::max_forward(const T* in, T* out) {
  const int64_t planes = this->input_->dim(0) * this->input_->dim(1);
  int32_t* argmax = argmax_.data();
  // Output columns whose windows lie inside the input: [ox_lo, ox_hi); the rest check bounds.
  const int64_t ox_lo = std::min<int64_t>(wo_, (pad_ + stride_ - 1) / stride_);
  const int64_t last = w_ + pad_ - k_;  // the last interior column's x0 is <= last
  const int64_t ox_hi = last < 0 ? ox_lo : std::max<int64_t>(ox_lo, std::min<int64_t>(wo_, last / stride_ + 1));
  const int64_t k = k_, stride = stride_, pad = pad_, w = w_, wo = wo_;
#pragma omp parallel for schedule(static) if (planes * ho_ * wo_ * k_ * k_ > (1 << 16))
  for (int64_t p = 0; p < planes; ++p) {
    const T* plane = in + p * h_ * w_;
    for (int64_t oy = 0; oy < ho_; ++oy) {
      const int64_t y0 = oy * stride - pad;
      const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min<int64_t>(y0 + k, h_);
      T* best = out + (p * ho_ + oy) * wo;
      int32_t* arg = argmax + (p * ho_ + oy) * wo;
      for (int64_t ox = 0; ox < wo; ++ox) {
        best[ox] = -std::numeric_limits<T>::infinity();
        arg[ox] = static_cast<int32_t>(ya * w + std::max<int64_t>(ox * stride - pad, 0));
      }
      for (int64_t y = ya; y < yb; ++y) {
        const T* row = plane + y * w;
        const int32_t rowbase = static_cast<int32_t>(y * w);
        for (int64_t dx = 0; dx < k; ++dx) {
          auto update = [&](int64_t ox) {
            const int64_t xx = ox * stride - pad + dx;
            const T v = row[xx];
            const bool take = v > best[ox] || v != v;  // v != v: NaN
            best[ox] = take ? v : best[ox];
            arg[ox] = take ? rowbase + static_cast<int32_t>(xx) : arg[ox];
          };
          for (int64_t ox = 0; ox < ox_lo; ++ox) {
            const int64_t xx = ox * stride - pad + dx;
            if (xx >= 0 && xx < w) update(ox);
          }
          if (stride == 1) {  // contiguous: the loop the compiler vectorises
            const T* r = row - pad + dx;
            const int32_t base = rowbase + static_cast<int32_t>(dx - pad);
            for (int64_t ox = ox_lo; ox < ox_hi; ++ox) {
              const T v = r[ox];
              const bool take = v > best[ox] || v != v;
              best[ox] = take ? v : best[ox];
              arg[ox] = take ? base + static_cast<int32_t>(ox) : arg[ox];
            }
          } else {
            for (int64_t ox = ox_lo; ox < ox_hi; ++ox) update(ox);
          }
          for (int64_t ox = ox_hi; ox < wo; ++ox) {
            const int64_t xx = ox * stride - pad + dx;
            if (xx >= 0 && xx < w) update(ox);
          }
        }
      }
    }
  }
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
  if (mode_ == Mode::Max) {
    max_forward(in, out);
    return this->output_;
  }
  const T area = static_cast<T>(k_ * k_);
#pragma omp parallel for schedule(static) if (planes * ho_ * wo_ * k_ * k_ > (1 << 16))
  for (int64_t p = 0; p < planes; ++p) {
    const T* plane = in + p * h_ * w_;
    for (int64_t oy = 0; oy < ho_; ++oy)
      for (int64_t ox = 0; ox < wo_; ++ox) {
        const int64_t y0 = oy * stride_ - pad_, x0 = ox * stride_ - pad_;
        const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min<int64_t>(y0 + k_, h_);
        const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min<int64_t>(x0 + k_, w_);
        T s = 0;
        for (int64_t y = ya; y < yb; ++y)
          for (int64_t xx = xa; xx < xb; ++xx) s += plane[y * w_ + xx];
        const T div = count_include_pad_
                          ? static_cast<T>((std::min(y0 + k_, h_ + pad_) - y0) * (std::min(x0 + k_, w_ + pad_) - x0))
                          : static_cast<T>((yb - ya) * (xb - xa));
        out[(p * ho_ + oy) * wo_ + ox] = s / (div > 0 ? div : area);
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
