#include "layers/batchnorm.h"

#include <cmath>

#include "core/limits.h"

namespace bionn {

template <typename T>
BatchNorm<T>::BatchNorm(int64_t num_features, bool spatial, double eps, double momentum, bool affine)
    : c_((checked_elements(spatial ? "BatchNorm2d" : "BatchNorm1d", {{"num_features", num_features}}, sizeof(T), 6),
          num_features)),
      spatial_(spatial),
      eps_(eps),
      momentum_(momentum),
      affine_(affine),
      weight_("weight", "bn_weight", Shape{num_features > 0 ? num_features : 0}),
      bias_("bias", "bn_bias", Shape{num_features > 0 ? num_features : 0}),
      running_mean_(Shape{num_features > 0 ? num_features : 0}, T(0)),
      running_var_(Shape{num_features > 0 ? num_features : 0}, T(1)),
      num_batches_tracked_(Shape{1}, T(0)) {
  if (num_features <= 0) throw std::invalid_argument(kind() + ": num_features must be positive");
  if (!(eps > 0) || !std::isfinite(eps)) throw std::invalid_argument(kind() + ": eps must be positive");
  if (!(momentum >= 0 && momentum <= 1)) throw std::invalid_argument(kind() + ": momentum must be in [0, 1]");
  Rng unused;
  reset_parameters(unused);
}

template <typename T>
void BatchNorm<T>::reset_parameters(Rng&) {
  weight_.value.fill(T(1));
  bias_.value.zero();
  running_mean_.zero();
  running_var_.fill(T(1));
  num_batches_tracked_.zero();
}

template <typename T>
std::vector<Parameter<T>*> BatchNorm<T>::parameters() {
  if (affine_) return {&weight_, &bias_};
  return {};
}

template <typename T>
std::vector<std::pair<std::string, Tensor<T>*>> BatchNorm<T>::buffers() {
  return {
      {"running_mean", &running_mean_}, {"running_var", &running_var_}, {"num_batches_tracked", &num_batches_tracked_}};
}

template <typename T>
const Tensor<T>& BatchNorm<T>::forward(const Tensor<T>& x, bool training, Rng&) {
  if (spatial_) {
    this->require_ndim(x, 4, "(N, C, H, W)");
  } else if (x.ndim() != 2 && x.ndim() != 3) {
    throw std::invalid_argument("BatchNorm1d: input must be (N, C) or (N, C, L), got " + x.shape().str());
  }
  if (x.batch() == 0) throw std::invalid_argument(kind() + ": input batch is empty");
  if (x.dim(1) != c_)
    throw std::invalid_argument(kind() + ": input has " + std::to_string(x.dim(1)) + " channels, expected " +
                                std::to_string(c_));
  const int64_t n = x.batch();
  inner_ = x.shape().sample_numel() / c_;
  const int64_t count = n * inner_;
  if (training && count < 2)
    throw std::invalid_argument(kind() + ": training needs more than one value per channel (batch of " +
                                std::to_string(n) + "); use a larger batch, drop_last=True, or eval mode");
  this->input_ = &x;
  last_training_ = training;
  this->output_.resize(x.shape());
  xhat_.resize(x.shape());
  mean_.resize(Shape{c_});
  invstd_.resize(Shape{c_});
  const T* in = x.data();
  T* out = this->output_.data();
  T* xh = xhat_.data();
  const int64_t inner = inner_, c = c_;
  const bool affine = affine_;
  const T* gamma = weight_.value.data();
  const T* beta = bias_.value.data();
  T* rm = running_mean_.data();
  T* rv = running_var_.data();
  const double mom = momentum_, eps = eps_;
  if (inner == 1) {
    forward_rows(in, out, xh, n, training);
    if (training) num_batches_tracked_[0] += T(1);
    return this->output_;
  }
#pragma omp parallel for schedule(static) if (count * c > (1 << 15))
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean, var;
    if (training) {
      double s = 0, ss = 0;
      for (int64_t i = 0; i < n; ++i) {
        const T* p = in + (i * c + ch) * inner;
        for (int64_t k = 0; k < inner; ++k) s += p[k];
      }
      mean = s / static_cast<double>(count);
      for (int64_t i = 0; i < n; ++i) {
        const T* p = in + (i * c + ch) * inner;
        for (int64_t k = 0; k < inner; ++k) {
          const double d = p[k] - mean;
          ss += d * d;
        }
      }
      var = ss / static_cast<double>(count);
      rm[ch] = static_cast<T>((1 - mom) * rm[ch] + mom * mean);
      rv[ch] = static_cast<T>((1 - mom) * rv[ch] + mom * var * count / (count - 1));
    } else {
      mean = rm[ch];
      var = rv[ch];
    }
    const T m = static_cast<T>(mean);
    const T is = static_cast<T>(1.0 / std::sqrt(var + eps));
    mean_[ch] = m;
    invstd_[ch] = is;
    const T g = affine ? gamma[ch] : T(1), b = affine ? beta[ch] : T(0);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t off = (i * c + ch) * inner;
      for (int64_t k = 0; k < inner; ++k) {
        const T h = (in[off + k] - m) * is;
        xh[off + k] = h;
        out[off + k] = g * h + b;
      }
    }
  }
  if (training) num_batches_tracked_[0] += T(1);
  return this->output_;
}

template <typename T>
const Tensor<T>& BatchNorm<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  const int64_t n = this->input_->batch(), c = c_, inner = inner_;
  const double count = static_cast<double>(n * inner);
  const T* g = grad_out.data();
  const T* xh = xhat_.data();
  if (need_input_grad) this->grad_input_.resize(grad_out.shape());
  T* dx = need_input_grad ? this->grad_input_.data() : nullptr;
  const bool affine = affine_, training = last_training_;
  const T* gamma = weight_.value.data();
  T* dgamma = weight_.grad.data();
  T* dbeta = bias_.grad.data();
  if (inner == 1) {
    backward_rows(g, xh, dx, n);
    return this->grad_input_;
  }
#pragma omp parallel for schedule(static) if (count * c > (1 << 15))
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum_g = 0, sum_gx = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t off = (i * c + ch) * inner;
      for (int64_t k = 0; k < inner; ++k) {
        sum_g += g[off + k];
        sum_gx += static_cast<double>(g[off + k]) * xh[off + k];
      }
    }
    if (affine) {
      dgamma[ch] += static_cast<T>(sum_gx);
      dbeta[ch] += static_cast<T>(sum_g);
    }
    if (!dx) continue;
    const T scale = (affine ? gamma[ch] : T(1)) * invstd_[ch];
    if (training) {
      // d/dx of (x - mean) * invstd through the batch statistics.
      const T mg = static_cast<T>(sum_g / count), mgx = static_cast<T>(sum_gx / count);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t off = (i * c + ch) * inner;
        for (int64_t k = 0; k < inner; ++k) dx[off + k] = scale * (g[off + k] - mg - xh[off + k] * mgx);
      }
    } else {
      for (int64_t i = 0; i < n; ++i) {
        const int64_t off = (i * c + ch) * inner;
        for (int64_t k = 0; k < inner; ++k) dx[off + k] = scale * g[off + k];
      }
    }
  }
  return this->grad_input_;
}

// (N, C) input: rows outside, channels inside, so the loops run over contiguous memory and
// vectorise; statistics accumulate in double in a fixed order.
template <typename T>
void BatchNorm<T>::forward_rows(const T* in, T* out, T* xh, int64_t n, bool training) {
  const int64_t c = c_;
  sum_.assign(static_cast<size_t>(c), 0.0);
  sumsq_.assign(static_cast<size_t>(c), 0.0);
  double* s = sum_.data();
  double* ss = sumsq_.data();
  T* mean = mean_.data();
  T* invstd = invstd_.data();
  T* rm = running_mean_.data();
  T* rv = running_var_.data();
  if (training) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch) s[ch] += in[i * c + ch];
    for (int64_t ch = 0; ch < c; ++ch) s[ch] /= static_cast<double>(n);  // now the mean
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch) {
        const double d = in[i * c + ch] - s[ch];
        ss[ch] += d * d;
      }
    for (int64_t ch = 0; ch < c; ++ch) {
      const double var = ss[ch] / static_cast<double>(n);
      rm[ch] = static_cast<T>((1 - momentum_) * rm[ch] + momentum_ * s[ch]);
      rv[ch] = static_cast<T>((1 - momentum_) * rv[ch] + momentum_ * var * n / (n - 1));
      mean[ch] = static_cast<T>(s[ch]);
      invstd[ch] = static_cast<T>(1.0 / std::sqrt(var + eps_));
    }
  } else {
    for (int64_t ch = 0; ch < c; ++ch) {
      mean[ch] = rm[ch];
      invstd[ch] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(rv[ch]) + eps_));
    }
  }
  const T* gamma = weight_.value.data();
  const T* beta = bias_.value.data();
  const bool affine = affine_;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      const T h = (in[i * c + ch] - mean[ch]) * invstd[ch];
      xh[i * c + ch] = h;
      out[i * c + ch] = affine ? gamma[ch] * h + beta[ch] : h;
    }
}

template <typename T>
void BatchNorm<T>::backward_rows(const T* g, const T* xh, T* dx, int64_t n) {
  const int64_t c = c_;
  sum_.assign(static_cast<size_t>(c), 0.0);
  sumsq_.assign(static_cast<size_t>(c), 0.0);
  double* sg = sum_.data();
  double* sgx = sumsq_.data();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      sg[ch] += g[i * c + ch];
      sgx[ch] += static_cast<double>(g[i * c + ch]) * xh[i * c + ch];
    }
  if (affine_)
    for (int64_t ch = 0; ch < c; ++ch) {
      weight_.grad[ch] += static_cast<T>(sgx[ch]);
      bias_.grad[ch] += static_cast<T>(sg[ch]);
    }
  if (!dx) return;
  const T* gamma = weight_.value.data();
  const T* invstd = invstd_.data();
  if (last_training_) {
    for (int64_t ch = 0; ch < c; ++ch) {
      sg[ch] /= static_cast<double>(n);
      sgx[ch] /= static_cast<double>(n);
    }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch) {
        const T scale = (affine_ ? gamma[ch] : T(1)) * invstd[ch];
        dx[i * c + ch] = scale * (g[i * c + ch] - static_cast<T>(sg[ch]) - xh[i * c + ch] * static_cast<T>(sgx[ch]));
      }
  } else {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch) dx[i * c + ch] = (affine_ ? gamma[ch] : T(1)) * invstd[ch] * g[i * c + ch];
  }
}

template class BatchNorm<float>;
template class BatchNorm<double>;

}  // namespace bionn
