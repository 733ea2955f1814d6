#include "layers/flexible.h"

#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/limits.h"
#include "core/parallel.h"

namespace bionn {

ThresholdMode parse_threshold_mode(const std::string& mode) {
  if (mode == "learned") return ThresholdMode::Learned;
  if (mode == "uniform") return ThresholdMode::Uniform;
  if (mode == "random") return ThresholdMode::Random;
  if (mode == "reverse") return ThresholdMode::Reverse;
  if (mode == "baseline") return ThresholdMode::Baseline;
  throw std::invalid_argument(
      "FlexibleConv2d: threshold_mode must be one of learned, uniform, random, reverse, "
      "baseline; got '" +
      mode + "'");
}

std::string threshold_mode_name(ThresholdMode mode) {
  switch (mode) {
    case ThresholdMode::Learned:
      return "learned";
    case ThresholdMode::Uniform:
      return "uniform";
    case ThresholdMode::Random:
      return "random";
    case ThresholdMode::Reverse:
      return "reverse";
    case ThresholdMode::Baseline:
      return "baseline";
  }
  return "?";
}

namespace {

int64_t conv_out(int64_t n, int64_t k, int64_t stride, int64_t pad) { return (n + 2 * pad - k) / stride + 1; }

const FlexibleOptions& validated(const FlexibleOptions& o) {
  auto fail = [](const std::string& m) { throw std::invalid_argument("FlexibleConv2d: " + m); };
  if (o.in_channels <= 0 || o.out_channels <= 0) fail("in_channels and out_channels must be positive");
  if (o.in_channels != 1 && o.in_channels != o.out_channels)
    fail(
        "the max-pooled map has in_channels channels, so in_channels must be 1 (broadcast) or equal "
        "out_channels; got " +
        std::to_string(o.in_channels) + " and " + std::to_string(o.out_channels));
  if (o.kernel_h <= 0 || o.kernel_w <= 0 || o.stride <= 0 || o.padding < 0) fail("invalid convolution geometry");
  if (o.pool_kernel <= 0 || o.pool_stride <= 0 || o.pool_padding < 0 || o.pool_padding > o.pool_kernel / 2)
    fail("invalid pooling geometry (pool_padding must be in [0, pool_kernel / 2])");
  if (o.input_h <= 0 || o.input_w <= 0) fail("input_size must be positive");
  constexpr int64_t kMaxSide = INT32_MAX;  // as Conv2d's: keeps input + 2 * padding far from overflow
  if (o.padding > kMaxSide || o.pool_padding > kMaxSide) fail("padding and pool_padding must be <= 2147483647");
  // The threshold map (out_channels x output size, at most the input size) and its gradient.
  checked_elements("FlexibleConv2d",
                   {{"out_channels", o.out_channels}, {"input_size[0]", o.input_h}, {"input_size[1]", o.input_w}}, 8,
                   2);
  if (!(o.scale > 0) || !std::isfinite(o.scale)) fail("scale must be finite and > 0");
  if (!std::isfinite(o.threshold_init)) fail("threshold must be finite");
  const int64_t ch = conv_out(o.input_h, o.kernel_h, o.stride, o.padding),
                cw = conv_out(o.input_w, o.kernel_w, o.stride, o.padding);
  const int64_t ph = conv_out(o.input_h, o.pool_kernel, o.pool_stride, o.pool_padding),
                pw = conv_out(o.input_w, o.pool_kernel, o.pool_stride, o.pool_padding);
  if (ch <= 0 || cw <= 0 || o.input_h + 2 * o.padding < o.kernel_h || o.input_w + 2 * o.padding < o.kernel_w)
    fail("the input is smaller than the convolution kernel");
  if (ch != ph || cw != pw)
    fail("convolution and max-pooling must give the same output size; got (" + std::to_string(ch) + ", " +
         std::to_string(cw) + ") and (" + std::to_string(ph) + ", " + std::to_string(pw) + ")");
  parse_threshold_mode(o.threshold_mode);
  return o;
}

constexpr int64_t kEq1Block = 64;  // units per SIMD block of Eq. 1 (a multiple of every packet size)

}  // namespace

template <typename T>
FlexibleConv2d<T>::FlexibleConv2d(const FlexibleOptions& options, Rng& rng)
    : opt_(validated(options)),
      mode_(parse_threshold_mode(options.threshold_mode)),
      uniform_value_(options.threshold_init),
      ho_(conv_out(options.input_h, options.kernel_h, options.stride, options.padding)),
      wo_(conv_out(options.input_w, options.kernel_w, options.stride, options.padding)),
      conv_(options.in_channels, options.out_channels, options.kernel_h, options.kernel_w, options.stride,
            options.padding, options.bias, options.init, rng),
      pool_(Pool2d<T>::Mode::Max, options.pool_kernel, options.pool_stride, options.pool_padding),
      threshold_("threshold", "threshold",
                 (mode_ == ThresholdMode::Learned || mode_ == ThresholdMode::Reverse)
                     ? Shape{options.out_channels, ho_, wo_}
                     : Shape{0}) {
  threshold_.value.fill(static_cast<T>(opt_.threshold_init));
}

template <typename T>
void FlexibleConv2d<T>::reset_parameters(Rng& rng) {
  conv_.reset_parameters(rng);
  threshold_.value.fill(static_cast<T>(opt_.threshold_init));
}

template <typename T>
std::vector<Parameter<T>*> FlexibleConv2d<T>::parameters() {
  std::vector<Parameter<T>*> ps = conv_.parameters();
  if (threshold_.value.size()) ps.push_back(&threshold_);
  return ps;
}

template <typename T>
void FlexibleConv2d<T>::set_uniform_threshold(double value) {
  if (mode_ != ThresholdMode::Uniform)
    throw std::logic_error("FlexibleConv2d: set_uniform_threshold needs threshold_mode='uniform'");
  if (!std::isfinite(value)) throw std::invalid_argument("FlexibleConv2d: threshold must be finite");
  uniform_value_ = value;
}

template <typename T>
const Tensor<T>& FlexibleConv2d<T>::forward(const Tensor<T>& x, bool training, Rng& rng) {
  this->require_ndim(x, 4, "(N, C, H, W)");
  if (x.dim(1) != opt_.in_channels || x.dim(2) != opt_.input_h || x.dim(3) != opt_.input_w)
    throw std::invalid_argument("FlexibleConv2d: input has shape " + x.shape().str() + ", expected (N, " +
                                std::to_string(opt_.in_channels) + ", " + std::to_string(opt_.input_h) + ", " +
                                std::to_string(opt_.input_w) + ") (the threshold tensor is fixed by input_size)");
  this->input_ = &x;
  const Tensor<T>& fconv = conv_.forward(x, training, rng);
  const int64_t n = x.batch(), cout = opt_.out_channels, hw = ho_ * wo_;
  this->output_.resize(fconv.shape());
  mask_.resize(fconv.shape());
  if (mode_ == ThresholdMode::Baseline) {  // T = −∞: σ(−∞) = 0, the convolution everywhere
    std::memcpy(this->output_.data(), fconv.data(), sizeof(T) * static_cast<size_t>(fconv.size()));
    mask_.zero();
    pooled_ = nullptr;
    return this->output_;
  }
  pooled_ = &pool_.forward(x, training, rng);
  if (mode_ == ThresholdMode::Random) {
    // Drawn serially from the model's engine (one bit per unit), so a seed fixes every mask.
    random_threshold_.resize(fconv.shape());
    T* r = random_threshold_.data();
    const int64_t total = random_threshold_.size();
    for (int64_t i = 0; i < total; i += 64) {
      uint64_t bits = rng.next_u64();
      const int64_t end = std::min<int64_t>(total, i + 64);
      for (int64_t k = i; k < end; ++k, bits >>= 1) r[k] = static_cast<T>(bits & 1u);
    }
  }
  const T s = static_cast<T>(opt_.scale), uniform = static_cast<T>(uniform_value_);
  const T sign = mode_ == ThresholdMode::Reverse ? T(-1) : T(1);
  const bool broadcast = opt_.in_channels == 1;
  const T* conv = fconv.data();
  const T* pooled = pooled_->data();
  const T* thr = threshold_.value.data();
  const T* rnd = random_threshold_.data();
  T* out = this->output_.data();
  T* mask = mask_.data();
  const ThresholdMode mode = mode_;
  // Eq. 1 in blocks of kEq1Block units: z = sign·(T − f_max)·s gathered into an aligned buffer, the
  // sigmoid in whole SIMD packets (every unit takes the same exp path wherever it sits, so equal
  // inputs give equal masks), then the blend. z is clamped to |z| <= 80 in float (700 in double):
  // beyond, σ differs from 0 or 1 by less than 2e-35 (1e-304), and it never becomes subnormal.
  constexpr int64_t kB = kEq1Block;
  const T zmax = std::is_same<T, float>::value ? T(80) : T(700);
#pragma omp parallel for schedule(static) if (n * cout * hw > (1 << 15))
  for (int64_t s_c = 0; s_c < n * cout; ++s_c) {
    const int64_t sample = s_c / cout, c = s_c % cout;
    const T* fmax = pooled + (broadcast ? sample * hw : s_c * hw);
    const int64_t base = s_c * hw;
    alignas(64) T z[kB];
    for (int64_t i0 = 0; i0 < hw; i0 += kB) {
      const int64_t len = std::min<int64_t>(kB, hw - i0);
      const T* fm = fmax + i0;
      if (mode == ThresholdMode::Uniform) {
        for (int64_t i = 0; i < len; ++i) z[i] = sign * (uniform - fm[i]) * s;
      } else {
        const T* t = mode == ThresholdMode::Random ? rnd + base + i0 : thr + c * hw + i0;
        for (int64_t i = 0; i < len; ++i) z[i] = sign * (t[i] - fm[i]) * s;
      }
      for (int64_t i = len; i < kB; ++i) z[i] = T(0);
      // Eq. 1: m = σ((T − f_max)·s) selects max-pooling below the threshold (reverse: above).
      Eigen::Map<Eigen::Array<T, kB, 1>, Eigen::Aligned64> zm(z);
      zm = T(1) / (T(1) + (-zm.max(-zmax).min(zmax)).exp());
      const T* cv = conv + base + i0;
      T* mk = mask + base + i0;
      T* o = out + base + i0;
      for (int64_t i = 0; i < len; ++i) {
        mk[i] = z[i];
        o[i] = z[i] * fm[i] + (T(1) - z[i]) * cv[i];
      }
    }
  }
  return this->output_;
}

template <typename T>
const Tensor<T>& FlexibleConv2d<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  const Tensor<T>& x = *this->input_;
  const Tensor<T>& fconv = conv_.output_ref();
  if (mode_ == ThresholdMode::Baseline) {
    const Tensor<T>& gx = conv_.backward(grad_out, need_input_grad);
    if (need_input_grad) {
      this->grad_input_.resize(x.shape());
      std::memcpy(this->grad_input_.data(), gx.data(), sizeof(T) * static_cast<size_t>(gx.size()));
    }
    return this->grad_input_;
  }
  const int64_t n = x.batch(), cout = opt_.out_channels, cin = opt_.in_channels, hw = ho_ * wo_;
  const bool broadcast = cin == 1;
  grad_conv_.resize(fconv.shape());
  grad_pool_.resize(pooled_->shape());
  const T s = static_cast<T>(opt_.scale);
  const T sign = mode_ == ThresholdMode::Reverse ? T(-1) : T(1);
  const bool learn_t = threshold_.value.size() > 0;
  // dz holds dLoss/dT per unit (before summing over the batch): g·(f_max − f_conv)·σ'·s·sign.
  // Reused: grad_conv_ is written first, dz lives in mask-sized scratch reusing random_threshold_.
  if (learn_t) random_threshold_.resize(fconv.shape());
  const T* g = grad_out.data();
  const T* conv = fconv.data();
  const T* pooled = pooled_->data();
  const T* mask = mask_.data();
  T* gconv = grad_conv_.data();
  T* gpool = grad_pool_.data();
  T* dz = learn_t ? random_threshold_.data() : nullptr;
#pragma omp parallel for schedule(static) if (n * cout * hw > (1 << 15))
  for (int64_t sample = 0; sample < n; ++sample) {
    T* gp_sample = gpool + sample * (broadcast ? hw : cout * hw);
    if (broadcast) std::fill(gp_sample, gp_sample + hw, T(0));
    for (int64_t c = 0; c < cout; ++c) {
      const int64_t base = (sample * cout + c) * hw;
      const T* fmax = pooled + (broadcast ? sample * hw : base);
      T* gp = broadcast ? gp_sample : gpool + base;
      for (int64_t i = 0; i < hw; ++i) {
        const T m = mask[base + i], go = g[base + i];
        gconv[base + i] = go * (T(1) - m);
        // d out / d T = (f_max − f_conv)·dm/dT, dm/dT = sign·s·m(1 − m); dm/df_max = −dm/dT.
        const T dt = go * (fmax[i] - conv[base + i]) * m * (T(1) - m) * s * sign;
        const T dmax = go * m - dt;
        if (broadcast)
          gp[i] += dmax;
        else
          gp[i] = dmax;
        if (dz) dz[base + i] = dt;
      }
    }
  }
  if (learn_t) {  // sum over the batch in sample order: deterministic for any thread count
    T* gt = threshold_.grad.data();
    const int64_t units = cout * hw;
    constexpr int64_t kU = 256;  // units per chunk: samples run outside, the units of a chunk inside
#pragma omp parallel for schedule(static) if (n * units > (1 << 15))
    for (int64_t u0 = 0; u0 < units; u0 += kU) {
      const int64_t len = std::min<int64_t>(kU, units - u0);
      T acc[kU];
      std::fill(acc, acc + len, T(0));
      for (int64_t sample = 0; sample < n; ++sample) {
        const T* d = dz + sample * units + u0;
        for (int64_t i = 0; i < len; ++i) acc[i] += d[i];
      }
      for (int64_t i = 0; i < len; ++i) gt[u0 + i] += acc[i];
    }
  }
  const Tensor<T>& gx_conv = conv_.backward(grad_conv_, need_input_grad);
  if (!need_input_grad) return this->grad_input_;
  const Tensor<T>& gx_pool = pool_.backward(grad_pool_, true);
  this->grad_input_.resize(x.shape());
  T* gi = this->grad_input_.data();
  const T* a = gx_conv.data();
  const T* b = gx_pool.data();
  const int64_t total = this->grad_input_.size();
  parallel_chunks(total, [&](int64_t start, int64_t count) {
    for (int64_t i = start; i < start + count; ++i) gi[i] = a[i] + b[i];
  });
  return this->grad_input_;
}

template class FlexibleConv2d<float>;
template class FlexibleConv2d<double>;

}  // namespace bionn
