#include "layers/conv2d.h"

#include <algorithm>
#include <cstring>

#include "core/eigen.h"
#include "core/gemm.h"
#include "core/limits.h"
#include "core/parallel.h"

namespace bionn {

template <typename T>
Conv2d<T>::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w, int64_t stride,
                  int64_t padding, bool bias, const std::string& init, Rng& rng)
    : cin_((checked_elements("Conv2d",
                             {{"in_channels", in_channels},
                              {"out_channels", out_channels},
                              {"kernel_h", kernel_h},
                              {"kernel_w", kernel_w}},
                             sizeof(T), 2),
            in_channels)),
      cout_(out_channels),
      kh_(kernel_h),
      kw_(kernel_w),
      stride_(stride),
      pad_(padding),
      has_bias_(bias),
      init_(parse_init(init)),
      weight_("weight", "weight",
              Shape{std::max<int64_t>(out_channels, 0), std::max<int64_t>(in_channels, 0),
                    std::max<int64_t>(kernel_h, 0), std::max<int64_t>(kernel_w, 0)}),
      bias_("bias", "bias", Shape{bias ? std::max<int64_t>(out_channels, 0) : 0}) {
  if (in_channels <= 0) throw std::invalid_argument("Conv2d: in_channels must be positive");
  if (out_channels <= 0) throw std::invalid_argument("Conv2d: out_channels must be positive");
  if (kernel_h <= 0 || kernel_w <= 0) throw std::invalid_argument("Conv2d: kernel_size must be positive");
  if (stride <= 0) throw std::invalid_argument("Conv2d: stride must be positive");
  if (padding < 0 || padding > INT32_MAX)  // bounded so that H + 2 * padding cannot overflow
    throw std::invalid_argument("Conv2d: padding must be in [0, 2147483647], got " + std::to_string(padding));
  limit_gemm_blocking();
  reset_parameters(rng);
}

template <typename T>
void Conv2d<T>::reset_parameters(Rng& rng) {
  const int64_t receptive = kh_ * kw_;
  init_weight(weight_.value, cin_ * receptive, cout_ * receptive, init_, rng);
  if (has_bias_) init_bias(bias_.value, cin_ * receptive, init_, rng);
}

template <typename T>
std::vector<Parameter<T>*> Conv2d<T>::parameters() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

// col has K = cin*kh*kw rows and P = ho*wo columns; row (c, i, j) holds the input pixel that kernel
// tap (i, j) of channel c sees at each output position (0 in the padding).
template <typename T>
void Conv2d<T>::im2col(const T* img, T* col, int64_t ld) const {
  for (int64_t c = 0; c < cin_; ++c)
    for (int64_t i = 0; i < kh_; ++i)
      for (int64_t j = 0; j < kw_; ++j) {
        T* row = col + ((c * kh_ + i) * kw_ + j) * ld;
        for (int64_t oy = 0; oy < ho_; ++oy) {
          const int64_t y = oy * stride_ - pad_ + i;
          T* dst = row + oy * wo_;
          if (y < 0 || y >= h_) {
            std::memset(dst, 0, sizeof(T) * static_cast<size_t>(wo_));
            continue;
          }
          const T* src = img + (c * h_ + y) * w_;
          if (stride_ == 1) {  // a contiguous run of the input row, zeros where it hits the padding
            const int64_t lo = std::clamp<int64_t>(pad_ - j, 0, wo_), hi = std::clamp<int64_t>(w_ + pad_ - j, lo, wo_);
            std::fill(dst, dst + lo, T(0));
            std::copy(src + lo - pad_ + j, src + hi - pad_ + j, dst + lo);
            std::fill(dst + hi, dst + wo_, T(0));
            continue;
          }
          for (int64_t ox = 0; ox < wo_; ++ox) {
            const int64_t x = ox * stride_ - pad_ + j;
            dst[ox] = (x >= 0 && x < w_) ? src[x] : T(0);
          }
        }
      }
}

template <typename T>
void Conv2d<T>::col2im(const T* col, T* img, int64_t ld) const {
  std::memset(img, 0, sizeof(T) * static_cast<size_t>(cin_ * h_ * w_));
  for (int64_t c = 0; c < cin_; ++c)
    for (int64_t i = 0; i < kh_; ++i)
      for (int64_t j = 0; j < kw_; ++j) {
        const T* row = col + ((c * kh_ + i) * kw_ + j) * ld;
        for (int64_t oy = 0; oy < ho_; ++oy) {
          const int64_t y = oy * stride_ - pad_ + i;
          if (y < 0 || y >= h_) continue;
          T* dst = img + (c * h_ + y) * w_;
          const T* src = row + oy * wo_;
          if (stride_ == 1) {
            const int64_t lo = std::clamp<int64_t>(pad_ - j, 0, wo_), hi = std::clamp<int64_t>(w_ + pad_ - j, lo, wo_);
            T* d = dst - pad_ + j;
            for (int64_t ox = lo; ox < hi; ++ox) d[ox] += src[ox];
            continue;
          }
          for (int64_t ox = 0; ox < wo_; ++ox) {
            const int64_t x = ox * stride_ - pad_ + j;
            if (x >= 0 && x < w_) dst[x] += src[ox];
          }
        }
      }
}

template <typename T>
const Tensor<T>& Conv2d<T>::forward(const Tensor<T>& x, bool, Rng&) {
  this->require_ndim(x, 4, "(N, C, H, W)");
  if (x.dim(1) != cin_)
    throw std::invalid_argument("Conv2d: input has " + std::to_string(x.dim(1)) + " channels, expected " +
                                std::to_string(cin_));
  h_ = x.dim(2);
  w_ = x.dim(3);
  ho_ = (h_ + 2 * pad_ - kh_) / stride_ + 1;
  wo_ = (w_ + 2 * pad_ - kw_) / stride_ + 1;
  if (h_ + 2 * pad_ < kh_ || w_ + 2 * pad_ < kw_ || ho_ <= 0 || wo_ <= 0)
    throw std::invalid_argument("Conv2d: input " + x.shape().str() + " is smaller than the kernel (" +
                                std::to_string(kh_) + ", " + std::to_string(kw_) + ") after padding");
  this->input_ = &x;
  this->output_.resize(Shape{x.batch(), cout_, ho_, wo_});  // checked: a huge padding throws here
  const int64_t n = x.batch(), K = cin_ * kh_ * kw_, P = ho_ * wo_;
  const int nt = max_threads();
  if (static_cast<int>(col_.size()) < nt) col_.resize(static_cast<size_t>(nt));
  CMapR<T> W(weight_.value.data(), cout_, K);
  const T* in = x.data();
  T* out = this->output_.data();
  if (P < kBatchedBelow) {
    forward_batched(in, out, n);
    return this->output_;
  }
#pragma omp parallel for schedule(static) if (n > 1)
  for (int64_t s = 0; s < n; ++s) {
    Tensor<T>& col = col_[static_cast<size_t>(thread_id())];
    col.resize(Shape{K, P});
    im2col(in + s * cin_ * h_ * w_, col.data(), P);
    MapR<T> Y(out + s * cout_ * P, cout_, P);
    gemm_serial(Y, W, CMapR<T>(col.data(), K, P), false);
    if (has_bias_) Y.colwise() += CVecMap<T>(bias_.value.data(), cout_);
  }
  return this->output_;
}

template <typename T>
const Tensor<T>& Conv2d<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  const Tensor<T>& x = *this->input_;
  const int64_t n = x.batch(), K = cin_ * kh_ * kw_, P = ho_ * wo_;
  const int nt = max_threads();
  if (static_cast<int>(col_.size()) < nt) col_.resize(static_cast<size_t>(nt));
  if (static_cast<int>(dweight_.size()) < nt) {
    dweight_.resize(static_cast<size_t>(nt));
    dbias_.resize(static_cast<size_t>(nt));
  }
  if (need_input_grad) this->grad_input_.resize(x.shape());
  CMapR<T> W(weight_.value.data(), cout_, K);
  const T* in = x.data();
  const T* g = grad_out.data();
  T* dx = need_input_grad ? this->grad_input_.data() : nullptr;
  if (P < kBatchedBelow) {
    backward_batched(in, g, dx, n);
    return this->grad_input_;
  }
  int used_threads = 1;
#pragma omp parallel if (n > 1)
  {
    const int tid = thread_id();
#pragma omp single
    used_threads = num_threads_in_region();
    Tensor<T>& col = col_[static_cast<size_t>(tid)];
    Tensor<T>& dw = dweight_[static_cast<size_t>(tid)];
    Tensor<T>& db = dbias_[static_cast<size_t>(tid)];
    col.resize(Shape{K, P});
    dw.resize(Shape{cout_, K});
    dw.zero();
    db.resize(Shape{cout_});
    db.zero();
    MapR<T> dW(dw.data(), cout_, K);
#pragma omp for schedule(static)
    for (int64_t s = 0; s < n; ++s) {
      CMapR<T> G(g + s * cout_ * P, cout_, P);
      im2col(in + s * cin_ * h_ * w_, col.data(), P);
      gemm_serial(dW, G, CMapR<T>(col.data(), K, P).transpose(), true);
      if (has_bias_) VecMap<T>(db.data(), cout_) += G.rowwise().sum();
      if (dx) {
        MapR<T> C(col.data(), K, P);
        gemm_serial(C, W.transpose(), G, false);
        col2im(col.data(), dx + s * cin_ * h_ * w_, P);
      }
    }
  }
  // Fixed-order reduction: identical results for a given thread count.
  VecMap<T> dW(weight_.grad.data(), cout_ * K);
  for (int t = 0; t < used_threads; ++t) {
    dW += CVecMap<T>(dweight_[static_cast<size_t>(t)].data(), cout_ * K);
    if (has_bias_) VecMap<T>(bias_.grad.data(), cout_) += CVecMap<T>(dbias_[static_cast<size_t>(t)].data(), cout_);
  }
  return this->grad_input_;
}

template <typename T>
int64_t Conv2d<T>::chunk(int64_t n) const {
  const int64_t per_image = cin_ * kh_ * kw_ * ho_ * wo_;
  return std::clamp<int64_t>(kChunkElements / std::max<int64_t>(per_image, 1), 1, n);
}

// Chunks of S images: Col = [im2col(x_1) ... im2col(x_S)] (K, S*P), then one product
// Y = W Col (C_out, S*P), scattered back to the (N, C_out, P) layout with the bias.
template <typename T>
void Conv2d<T>::forward_batched(const T* in, T* out, int64_t n) {
  const int64_t K = cin_ * kh_ * kw_, P = ho_ * wo_, S = chunk(n), image = cin_ * h_ * w_;
  bcol_.resize(Shape{K, S * P});
  bbuf_.resize(Shape{cout_, S * P});
  CMapR<T> W(weight_.value.data(), cout_, K);
  const T* bias = has_bias_ ? bias_.value.data() : nullptr;
  for (int64_t s0 = 0; s0 < n; s0 += S) {
    const int64_t cnt = std::min(S, n - s0), L = cnt * P;
    T* col = bcol_.data();
    T* buf = bbuf_.data();
#pragma omp parallel for schedule(static) if (cnt > 1 && K * L > (1 << 15))
    for (int64_t j = 0; j < cnt; ++j) im2col(in + (s0 + j) * image, col + j * P, L);
    MapR<T> Y(buf, cout_, L);
    gemm(Y, W, CMapR<T>(col, K, L), false);
#pragma omp parallel for schedule(static) if (cnt > 1 && cout_ * L > (1 << 15))
    for (int64_t j = 0; j < cnt; ++j)
      for (int64_t co = 0; co < cout_; ++co) {
        const T* src = buf + co * L + j * P;
        T* dst = out + ((s0 + j) * cout_ + co) * P;
        const T b = bias ? bias[co] : T(0);
        for (int64_t q = 0; q < P; ++q) dst[q] = src[q] + b;
      }
  }
}

// The same chunks backwards: G (C_out, S*P) gathered from grad_out; dW += G Col^T, db += G 1,
// dCol = W^T G, then col2im per image. One product per chunk, no per-thread partial sums: the
// GEMM's partition of its output fixes the summation order, so results are reproducible.
template <typename T>
void Conv2d<T>::backward_batched(const T* in, const T* g, T* dx, int64_t n) {
  const int64_t K = cin_ * kh_ * kw_, P = ho_ * wo_, S = chunk(n), image = cin_ * h_ * w_;
  bcol_.resize(Shape{K, S * P});
  bbuf_.resize(Shape{cout_, S * P});
  CMapR<T> W(weight_.value.data(), cout_, K);
  MapR<T> dW(weight_.grad.data(), cout_, K);
  for (int64_t s0 = 0; s0 < n; s0 += S) {
    const int64_t cnt = std::min(S, n - s0), L = cnt * P;
    T* col = bcol_.data();
    T* buf = bbuf_.data();
#pragma omp parallel for schedule(static) if (cnt > 1 && K * L > (1 << 15))
    for (int64_t j = 0; j < cnt; ++j) {
      im2col(in + (s0 + j) * image, col + j * P, L);
      for (int64_t co = 0; co < cout_; ++co)
        std::memcpy(buf + co * L + j * P, g + ((s0 + j) * cout_ + co) * P, sizeof(T) * static_cast<size_t>(P));
    }
    CMapR<T> G(buf, cout_, L);
    gemm(dW, G, CMapR<T>(col, K, L).transpose(), true);
    if (has_bias_) VecMap<T>(bias_.grad.data(), cout_) += G.rowwise().sum();
    if (!dx) continue;
    MapR<T> C(col, K, L);
    gemm(C, W.transpose(), G, false);
#pragma omp parallel for schedule(static) if (cnt > 1 && K * L > (1 << 15))
    for (int64_t j = 0; j < cnt; ++j) col2im(col + j * P, dx + (s0 + j) * image, L);
  }
}

template class Conv2d<float>;
template class Conv2d<double>;

}  // namespace bionn
