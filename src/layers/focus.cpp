#include "layers/focus.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/eigen.h"
#include "core/gemm.h"
#include "core/limits.h"
#include "core/parallel.h"

namespace bionn {

FocusNorm parse_focus_norm(const std::string& name) {
  if (name == "l2" || name == "eq7") return FocusNorm::L2;
  if (name == "sum") return FocusNorm::Sum;
  if (name == "none") return FocusNorm::None;
  throw std::invalid_argument("normalization: unknown focus normalisation '" + name +
                              "', expected one of l2, sum, none");
}

std::string focus_norm_name(FocusNorm norm) {
  switch (norm) {
    case FocusNorm::L2:
      return "l2";
    case FocusNorm::Sum:
      return "sum";
    case FocusNorm::None:
      return "none";
  }
  return "l2";
}

namespace {

template <typename T>
using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
template <typename T>
using ArrMap = Eigen::Map<Arr<T>>;
template <typename T>
using CArrMap = Eigen::Map<const Arr<T>>;

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Runs f(row_begin, row_count) over the rows, in parallel when the (rows x cols) work is big enough.
template <class F>
void for_rows(int64_t rows, int64_t cols, F&& f) {
  parallel_chunks(rows, f, rows * cols < (int64_t(1) << 15) ? rows + 1 : 0);
}

// height * width, or 0 when a size is not positive (the constructor then says which). A product
// that overflows, or a weight matrix larger than 2^60 bytes, is refused here, before the member
// tensors are allocated: the wrapped product would size them wrong.
int64_t checked_inputs(const std::string& name, int64_t height, int64_t width, int64_t out, int64_t itemsize) {
  if (height <= 0 || width <= 0) return 0;
  // W, Phi, K and the gradients: about four weight-sized tensors.
  if (name == "FocusDense")
    checked_elements(name, {{"in_features", width}, {"out_features", out > 0 ? out : 1}}, itemsize, 4);
  else
    checked_elements(name, {{"height", height}, {"width", width}, {"out_features", out > 0 ? out : 1}}, itemsize, 4);
  return height * width;
}

}  // namespace

template <typename T>
FocusBase<T>::FocusBase(const std::string& name, int64_t height, int64_t width, int64_t out_features, int dims,
                        const FocusOptions& opt, Rng& rng)
    : name_(name),
      in_(checked_inputs(name, height, width, out_features, sizeof(T))),
      out_(out_features > 0 ? out_features : 0),
      height_(height),
      width_(width),
      dims_(dims),
      aniso_(dims == 2 && opt.anisotropic),
      opt_(opt),
      norm_(FocusNorm::L2),
      focus_init_(opt.init == "focus" || opt.init == "focus_glorot"),
      focus_glorot_(opt.init == "focus_glorot"),
      init_(Init::Torch),
      weight_("weight", "weight", Shape{out_, in_}),
      bias_("bias", "bias", Shape{opt.bias ? out_ : 0}) {
  const std::string& n = name_;
  if (dims == 1) {
    if (width <= 0) throw std::invalid_argument(n + ": in_features must be positive, got " + std::to_string(width));
  } else {
    if (height <= 0) throw std::invalid_argument(n + ": height must be positive, got " + std::to_string(height));
    if (width <= 0) throw std::invalid_argument(n + ": width must be positive, got " + std::to_string(width));
  }
  if (out_features <= 0)
    throw std::invalid_argument(n + ": out_features must be positive, got " + std::to_string(out_features));
  try {
    norm_ = parse_focus_norm(opt.normalization);
    if (!focus_init_) init_ = parse_init(opt.init);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(n + ": " + e.what() + (focus_init_ ? "" : " (or focus, focus_glorot)"));
  }
  auto finite = [](double v) { return std::isfinite(v); };
  if (!finite(opt.mu_min) || !finite(opt.mu_max) || !(opt.mu_min <= opt.mu_max))
    throw std::invalid_argument(n + ": mu_bounds must be finite with min <= max, got (" + num(opt.mu_min) + ", " +
                                num(opt.mu_max) + ")");
  if (!finite(opt.sigma_min) || !finite(opt.sigma_max) || !(opt.sigma_min > 0) || !(opt.sigma_min <= opt.sigma_max))
    throw std::invalid_argument(n + ": sigma_bounds must be finite with 0 < min <= max, got (" + num(opt.sigma_min) +
                                ", " + num(opt.sigma_max) + ")");
  if (!finite(opt.sigma_init) || !(opt.sigma_init > 0))
    throw std::invalid_argument(n + ": sigma_init must be a positive number, got " + num(opt.sigma_init));
  if (opt.sigma_init < opt.sigma_min || opt.sigma_init > opt.sigma_max)
    throw std::invalid_argument(n + ": sigma_init " + num(opt.sigma_init) + " is outside sigma_bounds [" +
                                num(opt.sigma_min) + ", " + num(opt.sigma_max) + "]");
  if (opt.mu_init == "spread") {
    if (!finite(opt.spread_lo) || !finite(opt.spread_hi) || !(0.0 <= opt.spread_lo) ||
        !(opt.spread_lo <= opt.spread_hi) || !(opt.spread_hi <= 1.0))
      throw std::invalid_argument(n + ": spread must be an interval [a, b] with 0 <= a <= b <= 1, got [" +
                                  num(opt.spread_lo) + ", " + num(opt.spread_hi) + "]");
  } else if (opt.mu_init == "values") {
    const size_t want = static_cast<size_t>(out_ * dims);
    if (opt.mu_values.size() != want)
      throw std::invalid_argument(n + ": mu_init has " + std::to_string(opt.mu_values.size()) + " values, expected " +
                                  std::to_string(want) + (dims == 2 ? " (out_features (x, y) pairs)" : ""));
    for (double v : opt.mu_values)
      if (!finite(v) || v < opt.mu_min || v > opt.mu_max)
        throw std::invalid_argument(n + ": mu_init value " + num(v) + " is outside mu_bounds [" + num(opt.mu_min) +
                                    ", " + num(opt.mu_max) + "]");
  } else if (opt.mu_init != "center") {
    throw std::invalid_argument(n + ": mu_init must be 'spread', 'center' or explicit values, got '" + opt.mu_init +
                                "'");
  }
  if (!finite(opt.sigma_l1) || opt.sigma_l1 < 0)
    throw std::invalid_argument(n + ": sigma_l1 must be >= 0, got " + num(opt.sigma_l1));
  if (!finite(opt.sigma_l2) || opt.sigma_l2 < 0)
    throw std::invalid_argument(n + ": sigma_l2 must be >= 0, got " + num(opt.sigma_l2));
  if (!finite(opt.prune_threshold) || opt.prune_threshold < 0)
    throw std::invalid_argument(n + ": prune_threshold must be >= 0, got " + num(opt.prune_threshold));
  prune_ = opt.prune_threshold;

  // Positions, linearly spaced in [0, 1] inclusive along each axis.
  auto lin = [](int64_t i, int64_t count) {
    return count > 1 ? static_cast<double>(i) / static_cast<double>(count - 1) : 0.0;
  };
  pos_[0].resize(static_cast<size_t>(in_));
  if (dims == 1) {
    for (int64_t i = 0; i < in_; ++i) pos_[0][static_cast<size_t>(i)] = static_cast<T>(lin(i, in_));
  } else {
    pos_[1].resize(static_cast<size_t>(in_));
    for (int64_t r = 0; r < height; ++r)
      for (int64_t c = 0; c < width; ++c) {
        pos_[0][static_cast<size_t>(r * width + c)] = static_cast<T>(lin(c, width));
        pos_[1][static_cast<size_t>(r * width + c)] = static_cast<T>(lin(r, height));
      }
  }
  mus_.reserve(2);
  sigmas_.reserve(2);
  if (dims == 1) {
    mus_.emplace_back("mu", "mu", Shape{out_});
    sigmas_.emplace_back("sigma", "sigma", Shape{out_});
  } else {
    mus_.emplace_back("mu_x", "mu", Shape{out_});
    mus_.emplace_back("mu_y", "mu", Shape{out_});
    if (aniso_) {
      sigmas_.emplace_back("sigma_x", "sigma", Shape{out_});
      sigmas_.emplace_back("sigma_y", "sigma", Shape{out_});
    } else {
      sigmas_.emplace_back("sigma", "sigma", Shape{out_});
    }
  }
  for (auto& p : mus_) p.set_clamp(opt.mu_min, opt.mu_max);
  for (auto& p : sigmas_) p.set_clamp(opt.sigma_min, opt.sigma_max);
  for (auto& p : mus_) p.trainable = opt.trainable_focus;
  for (auto& p : sigmas_) p.trainable = opt.trainable_focus;

  phi_.resize(Shape{out_, in_});
  win_lo_.assign(static_cast<size_t>(out_), 0);
  win_hi_.assign(static_cast<size_t>(out_), in_);
  row_lo_.assign(static_cast<size_t>(out_), 0);
  row_hi_.assign(static_cast<size_t>(out_), in_);
  order_.resize(static_cast<size_t>(out_));
  for (int64_t j = 0; j < out_; ++j) order_[static_cast<size_t>(j)] = j;
  // Capacity for any block count (<= out_), so planning never allocates.
  bounds_.reserve(static_cast<size_t>(out_ + 1));
  blk_lo_.reserve(static_cast<size_t>(out_));
  blk_hi_.reserve(static_cast<size_t>(out_));
  k_.resize(Shape{out_, in_});
  limit_gemm_blocking();
  reset_parameters(rng);
}

template <typename T>
std::vector<Parameter<T>*> FocusBase<T>::parameters() {
  std::vector<Parameter<T>*> ps{&weight_};
  if (opt_.bias) ps.push_back(&bias_);
  for (auto& p : mus_) ps.push_back(&p);
  for (auto& p : sigmas_) ps.push_back(&p);
  return ps;
}

template <typename T>
void FocusBase<T>::reset_parameters(Rng& rng) {
  // Centres.
  if (opt_.mu_init == "values") {
    for (int64_t j = 0; j < out_; ++j)
      for (int d = 0; d < dims_; ++d)
        mus_[static_cast<size_t>(d)].value[j] = static_cast<T>(opt_.mu_values[static_cast<size_t>(j * dims_ + d)]);
  } else if (opt_.mu_init == "center") {
    for (int64_t j = 0; j < out_; ++j)
      for (int d = 0; d < dims_; ++d)
        mus_[static_cast<size_t>(d)].value[j] = static_cast<T>(0.5 + rng.uniform(-0.025, 0.025));
  } else {  // spread: linspace(a, b, n) in 1D; a gx x gy grid over [a, b]^2 in 2D
    const double a = opt_.spread_lo, b = opt_.spread_hi;
    auto lin = [&](int64_t i, int64_t count) {
      return count > 1 ? a + (b - a) * static_cast<double>(i) / static_cast<double>(count - 1) : 0.5 * (a + b);
    };
    if (dims_ == 1) {
      for (int64_t j = 0; j < out_; ++j) mus_[0].value[j] = static_cast<T>(lin(j, out_));
    } else {
      const int64_t gx = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(out_))));
      const int64_t gy = (out_ + gx - 1) / gx;
      for (int64_t j = 0; j < out_; ++j) {
        mus_[0].value[j] = static_cast<T>(lin(j % gx, gx));
        mus_[1].value[j] = static_cast<T>(lin(j / gx, gy));
      }
    }
  }
  for (auto& p : sigmas_) p.value.fill(static_cast<T>(opt_.sigma_init));
  for (auto& p : mus_) p.apply_clamp();
  for (auto& p : sigmas_) p.apply_clamp();

  // Weights: Eq. 10 (U(+-sqrt(6) / ||phi_j||_2) per neuron, the variance of Appendix A.8), the authors'
  // code's element-wise Glorot on the focus, or a standard init.
  if (focus_glorot_) {
    // The authors' Keras code (not the paper): Glorot-uniform per element with the fans weighted by
    // the focus, W_ji ~ U(+-sqrt(6 / (fan_in_j + fan_out_i))), fan_in_j = sum_i phi_ji^2 (= m under
    // Eq. 7), fan_out_i = sum_j phi_ji^2; gain 1. Drawn in the same (neuron, input) order as Eq. 10.
    const Tensor<T>& phi = focus();
    std::vector<double> fan_out(static_cast<size_t>(in_), 0.0), fan_in(static_cast<size_t>(out_), 0.0);
    for (int64_t j = 0; j < out_; ++j) {
      const T* ph = phi.data() + j * in_;
      for (int64_t i = 0; i < in_; ++i) {
        const double v = static_cast<double>(ph[i]) * static_cast<double>(ph[i]);
        fan_in[static_cast<size_t>(j)] += v;
        fan_out[static_cast<size_t>(i)] += v;
      }
    }
    const double plain = std::sqrt(6.0 / static_cast<double>(in_ + out_));
    for (int64_t j = 0; j < out_; ++j) {
      T* w = weight_.value.data() + j * in_;
      for (int64_t i = 0; i < in_; ++i) {
        const double fans = fan_in[static_cast<size_t>(j)] + fan_out[static_cast<size_t>(i)];
        const double bound = fans > 0 ? std::sqrt(6.0 / fans) : plain;
        w[i] = static_cast<T>(rng.uniform(-bound, bound));
      }
    }
    if (opt_.bias) bias_.value.zero();
  } else if (focus_init_) {
    const Tensor<T>& phi = focus();
    for (int64_t j = 0; j < out_; ++j) {
      CArrMap<T> ph(phi.data() + j * in_, in_);
      const double nrm = std::sqrt(static_cast<double>((ph * ph).sum()));
      const double bound = nrm > 0 ? std::sqrt(6.0) / nrm : std::sqrt(6.0 / static_cast<double>(in_));
      T* w = weight_.value.data() + j * in_;
      for (int64_t i = 0; i < in_; ++i) w[i] = static_cast<T>(rng.uniform(-bound, bound));
    }
    if (opt_.bias) bias_.value.zero();
  } else {
    init_weight(weight_.value, in_, out_, init_, rng);
    if (opt_.bias) init_bias(bias_.value, in_, init_, rng);
  }
}

namespace {

// The index range [lo, hi) of the grid points t_i = i / (count - 1) along one axis whose exponent
// a (t_i - mu)^2 is within `cutoff` of its smallest value on the grid, and that smallest value.
// The exponent is smallest at the grid point nearest mu and exceeds it by more than the cutoff
// where |t - mu| > hw, hw = sqrt(cutoff / a + dmin^2).
template <typename T>
void axis_window(T mu, T a, int64_t count, double cutoff, int64_t& lo, int64_t& hi, T& zmin) {
  if (count == 1) {
    lo = 0, hi = 1, zmin = mu * mu * a;
    return;
  }
  const double cm1 = static_cast<double>(count - 1), mu_d = static_cast<double>(mu);
  const double nearest = std::round(std::min(std::max(mu_d, 0.0), 1.0) * cm1);
  const int64_t is = std::min<int64_t>(count - 1, std::max<int64_t>(0, static_cast<int64_t>(nearest)));
  const T dmin = static_cast<T>(static_cast<double>(is) / cm1) - mu;
  zmin = dmin * dmin * a;
  const double hw = std::sqrt(cutoff / static_cast<double>(a) + static_cast<double>(dmin) * static_cast<double>(dmin));
  lo = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((mu_d - hw) * cm1)));
  hi = std::min<int64_t>(count, static_cast<int64_t>(std::floor((mu_d + hw) * cm1)) + 1);
  lo = std::min(lo, is);
  hi = std::max(hi, is + 1);
}

// A row that is 0 outside [old_lo, old_hi) gets its new window [lo, hi): only the part of the
// old window outside the new one is cleared (the rest of the row is 0 already), so a step whose
// windows barely move writes no more than the windows.
template <typename Row>
void clear_outside(Row&& row, int64_t old_lo, int64_t old_hi, int64_t lo, int64_t hi) {
  if (old_lo < lo) row.segment(old_lo, std::min(lo, old_hi) - old_lo).setZero();
  if (old_hi > hi) {
    const int64_t a = std::max(hi, old_lo);
    row.segment(a, old_hi - a).setZero();
  }
}

}  // namespace

template <typename T>
void FocusBase<T>::focus_row(int64_t j, T* dst, int64_t& lo, int64_t& hi) const {
  const int64_t m = in_;
  const T scale_num = static_cast<T>(std::sqrt(static_cast<double>(m)));
  // Coefficients below eps^1.5 of the neuron's peak (exp(-z) with z > cutoff; ~4e-11 in float32)
  // are set to 0. They are far below the rounding of any sum that includes the peak (the Gaussian
  // tail beyond them adds less still), and keeping them would feed subnormal numbers (phi^2 in the
  // normaliser's gradient, phi * w * dL/dK) to the GEMM and the gradient loops, which x86 cores
  // execute ~100x slower: with eps^3, phi^2 underflowed and a narrow focus cost 50 % more than a
  // wide one. The cutoff also gives every neuron a window [lo, hi) of input indices (a range of
  // grid rows in 2D) outside which its focus is exactly 0: forward and backward skip it.
  const T cutoff = static_cast<T>(-1.5 * std::log(static_cast<double>(std::numeric_limits<T>::epsilon())));
  CArrMap<T> px(pos_[0].data(), m);
  ArrMap<T> ph(dst, m);
  const T sx = sigmas_[0].value[j];
  const T ax = T(0.5) / (sx * sx);
  const T mux = mus_[0].value[j];
  T zmin = 0;  // the smallest exponent on the grid: subtracted so the peak coefficient is exp(0)
  // Inside a window the shifted exponent is at most the cutoff up to rounding: min() guards
  // that edge (Eigen's select() would not vectorise; min() does).
  if (dims_ == 1) {
    axis_window(mux, ax, m, static_cast<double>(cutoff), lo, hi, zmin);
    ph.segment(lo, hi - lo) = (-((px.segment(lo, hi - lo) - mux).square() * ax - zmin).min(cutoff)).exp();
  } else {
    const T sy = aniso_ ? sigmas_[1].value[j] : sx;
    const T ay = T(0.5) / (sy * sy);
    const T muy = mus_[1].value[j];
    int64_t xlo, xhi, ylo, yhi;
    T zxmin, zymin;
    axis_window(mux, ax, width_, static_cast<double>(cutoff), xlo, xhi, zxmin);
    axis_window(muy, ay, height_, static_cast<double>(cutoff), ylo, yhi, zymin);
    lo = ylo * width_, hi = yhi * width_;
    zmin = zxmin + zymin;
    // Grid row by grid row: the columns outside the x window are exactly 0 as well.
    for (int64_t r = ylo; r < yhi; ++r) {
      auto row = ph.segment(r * width_, width_);
      const T dy = pos_[1][static_cast<size_t>(r * width_)] - muy;
      const T zy = dy * dy * ay - zmin;
      row.head(xlo).setZero();
      row.tail(width_ - xhi).setZero();
      row.segment(xlo, xhi - xlo) =
          (-((px.segment(r * width_ + xlo, xhi - xlo) - mux).square() * ax + zy).min(cutoff)).exp();
    }
  }
  auto seg = ph.segment(lo, hi - lo);
  if (norm_ == FocusNorm::None) {
    seg *= std::exp(-zmin);  // Eq. 6 unnormalised: the shift is undone
  } else {
    // The normaliser cancels any per-neuron factor, so the shifted exponent changes nothing and
    // nothing underflows to an all-zero row. Eq. 7: ||phi_j||_2 = sqrt(m); Algorithm 2: sum = sqrt(m).
    const T z = norm_ == FocusNorm::L2 ? seg.matrix().norm() : seg.sum();
    seg *= scale_num / z;
  }
}

template <typename T>
void FocusBase<T>::window(int64_t j, int64_t& lo, int64_t& hi) const {
  // The window focus_row() gives neuron j, without computing its coefficients.
  const double cutoff = -1.5 * std::log(static_cast<double>(std::numeric_limits<T>::epsilon()));
  const T sx = sigmas_[0].value[j];
  T zmin;
  if (dims_ == 1) {
    axis_window(mus_[0].value[j], T(0.5) / (sx * sx), in_, cutoff, lo, hi, zmin);
    return;
  }
  const T sy = aniso_ ? sigmas_[1].value[j] : sx;
  int64_t ylo, yhi;
  axis_window(mus_[1].value[j], T(0.5) / (sy * sy), height_, cutoff, ylo, yhi, zmin);
  lo = ylo * width_, hi = yhi * width_;
}

template <typename T>
void FocusBase<T>::plan_blocks() {
  // Positions sorted by where the neurons' windows start: neighbours in a block then share most of
  // their inputs whatever the storage order, and a few wide foci no longer widen every block they
  // sit in. The windows come from the current mu and sigma (not the last pass), so a pass's
  // numbers depend on the parameters only: a saved and loaded model predicts the same bits.
  // Ties by index keep the order reproducible.
  for (int64_t j = 0; j < out_; ++j) window(j, win_lo_[static_cast<size_t>(j)], win_hi_[static_cast<size_t>(j)]);
  std::sort(order_.begin(), order_.end(), [&](int64_t a, int64_t b) {
    const int64_t la = win_lo_[static_cast<size_t>(a)], lb = win_lo_[static_cast<size_t>(b)];
    return la != lb ? la < lb : a < b;
  });
  identity_order_ = true;
  for (int64_t r = 0; r < out_ && identity_order_; ++r) identity_order_ = order_[static_cast<size_t>(r)] == r;
  // About kBlock rows a block (its products then run at >= 90 % of a full GEMM's speed), in a
  // number of blocks that is a multiple of the thread count.
  const int64_t nt = max_threads();
  const int64_t per = std::max<int64_t>(1, (out_ + nt * kBlock - 1) / (nt * kBlock));
  const int64_t nb = std::min(out_, nt * per);
  bounds_.resize(static_cast<size_t>(nb + 1));
  for (int64_t b = 0; b <= nb; ++b) bounds_[static_cast<size_t>(b)] = out_ * b / nb;
  blk_lo_.resize(static_cast<size_t>(nb));
  blk_hi_.resize(static_cast<size_t>(nb));
  for (int64_t b = 0; b < nb; ++b) block_window(b);
  windowed_ = window_fraction() < kWindowedBelow;
}

template <typename T>
void FocusBase<T>::block_window(int64_t b) {
  int64_t lo = in_, hi = 0;
  for (int64_t r = bounds_[static_cast<size_t>(b)]; r < bounds_[static_cast<size_t>(b + 1)]; ++r) {
    const size_t j = static_cast<size_t>(order_[static_cast<size_t>(r)]);
    lo = std::min(lo, win_lo_[j]);
    hi = std::max(hi, win_hi_[j]);
  }
  blk_lo_[static_cast<size_t>(b)] = lo;
  blk_hi_[static_cast<size_t>(b)] = hi;
}

template <typename T>
double FocusBase<T>::window_fraction() const {
  int64_t covered = 0;
  for (size_t b = 0; b + 1 < bounds_.size(); ++b) covered += (bounds_[b + 1] - bounds_[b]) * (blk_hi_[b] - blk_lo_[b]);
  return static_cast<double>(covered) / static_cast<double>(out_ * in_);
}

template <typename T>
void FocusBase<T>::position_rows(int64_t r0, int64_t count) {
  const int64_t m = in_;
  const T thr = static_cast<T>(prune_);
  const bool pruned = prune_ > 0;
  for (int64_t r = r0; r < r0 + count; ++r) {
    const size_t rs = static_cast<size_t>(r), j = static_cast<size_t>(order_[rs]);
    ArrMap<T> ph(phi_.data() + r * m, m), k(k_.data() + r * m, m);
    int64_t lo, hi;
    focus_row(static_cast<int64_t>(j), ph.data(), lo, hi);
    win_lo_[j] = lo;
    win_hi_[j] = hi;
    clear_outside(ph, row_lo_[rs], row_hi_[rs], lo, hi);
    clear_outside(k, row_lo_[rs], row_hi_[rs], lo, hi);
    row_lo_[rs] = lo;
    row_hi_[rs] = hi;
    auto seg = ph.segment(lo, hi - lo);
    CArrMap<T> w(weight_.value.data() + static_cast<int64_t>(j) * m + lo, hi - lo);
    if (pruned)
      k.segment(lo, hi - lo) = (seg >= thr).select(seg * w, T(0));
    else
      k.segment(lo, hi - lo) = seg * w;
  }
}

template <typename T>
void FocusBase<T>::compute_rows() {
  for_rows(out_, in_, [&](int64_t r0, int64_t count) { position_rows(r0, count); });
  for (int64_t b = 0; b + 1 < static_cast<int64_t>(bounds_.size()); ++b) block_window(b);
  k_valid_ = true;
}

template <typename T>
const Tensor<T>& FocusBase<T>::focus() {
  // In neuron order, for the user; training keeps its own copy in block order.
  phi_out_.resize(Shape{out_, in_});
  for_rows(out_, in_, [&](int64_t j0, int64_t count) {
    for (int64_t j = j0; j < j0 + count; ++j) {
      T* row = phi_out_.data() + j * in_;
      std::fill(row, row + in_, T(0));
      focus_row(j, row, win_lo_[static_cast<size_t>(j)], win_hi_[static_cast<size_t>(j)]);
    }
  });
  return phi_out_;
}

template <typename T>
const Tensor<T>& FocusBase<T>::effective_weight() {
  const Tensor<T>& phi = focus();
  k_out_.resize(Shape{out_, in_});
  CArrMap<T> ph(phi.data(), phi.size()), w(weight_.value.data(), weight_.value.size());
  ArrMap<T> k(k_out_.data(), k_out_.size());
  if (prune_ > 0)
    k = (ph >= static_cast<T>(prune_)).select(ph * w, T(0));
  else
    k = ph * w;
  return k_out_;
}

template <typename T>
double FocusBase<T>::prune(double threshold) {
  if (!std::isfinite(threshold) || threshold < 0)
    throw std::invalid_argument(name_ + ".prune: threshold must be >= 0, got " + num(threshold));
  prune_ = threshold;
  opt_.prune_threshold = threshold;
  k_valid_ = false;  // K changes with the mask
  const Tensor<T>& phi = focus();
  if (threshold <= 0) return 0.0;
  const T thr = static_cast<T>(threshold);
  int64_t cut = 0;
  for (int64_t i = 0; i < phi.size(); ++i) cut += phi[i] < thr;
  return static_cast<double>(cut) / static_cast<double>(phi.size());
}

template <typename T>
double FocusBase<T>::sigma_penalty() const {
  double s = 0.0;
  for (const auto& p : sigmas_)
    for (int64_t i = 0; i < p.value.size(); ++i) {
      const double v = static_cast<double>(p.value[i]);
      s += opt_.sigma_l1 * std::abs(v) + opt_.sigma_l2 * v * v;
    }
  return s;
}

template <typename T>
void FocusBase<T>::check_input(const Tensor<T>& x) const {
  if (x.batch() == 0 && x.ndim() >= 1) throw std::invalid_argument(name_ + ": input batch is empty");
  if (x.ndim() == 2 && x.dim(1) == in_) return;
  if (dims_ == 2 && x.ndim() == 4 && x.dim(1) == 1 && x.dim(2) == height_ && x.dim(3) == width_) return;
  if (dims_ == 1)
    throw std::invalid_argument(name_ + ": input must have shape (batch, " + std::to_string(in_) + "), got " +
                                x.shape().str());
  throw std::invalid_argument(name_ + ": input must have shape (batch, " + std::to_string(in_) + ") or (batch, 1, " +
                              std::to_string(height_) + ", " + std::to_string(width_) + "), got " + x.shape().str());
}

template <typename T>
template <class F>
void FocusBase<T>::for_blocks(int64_t work, F&& f) {
  const int64_t nb = static_cast<int64_t>(bounds_.size()) - 1;
  const int nt = max_threads();
  // Below ~1 MFLOP a parallel region costs more than it saves (batch-1 training lives there).
  if (nt == 1 || nb == 1 || work < (int64_t(1) << 20) || in_parallel()) {
    for (int64_t b = 0; b < nb; ++b) f(b, 0);
    return;
  }
  // Blocks differ in width, so they are handed out dynamically; each block's result depends only
  // on its own rows, never on which thread computed it, so the numbers stay reproducible.
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (int64_t b = 0; b < nb; ++b) f(b, thread_id());
}

template <typename T>
const Tensor<T>& FocusBase<T>::forward(const Tensor<T>& x, bool, Rng&) {
  check_input(x);
  const int64_t n = x.batch(), m = in_;
  this->input_ = &x;
  // Phi and K once per pass (Algorithms 1-2), then Y = X K^T + b. Phi's and K's rows are kept in
  // block order (row r is neuron order_[r]); the product fills Yp, Y's columns in that order.
  plan_blocks();
  this->output_.resize(Shape{n, out_});
  yp_.resize(Shape{n, out_});  // even when unused: a later change of order must not allocate
  CMapR<T> X(x.data(), n, m);
  CMapR<T> Kp(k_.data(), out_, m);
  MapR<T> Yp(identity_order_ ? this->output_.data() : yp_.data(), n, out_);
  const int64_t work = n * out_ * m;
  if (windowed_) {
    // Narrow foci: per block, the product runs over the union of its neurons' windows only (K is
    // exactly 0 outside it), right after the block's rows of K are computed, while in cache.
    for_blocks(work, [&](int64_t b, int) {
      const int64_t r0 = bounds_[static_cast<size_t>(b)], rows = bounds_[static_cast<size_t>(b + 1)] - r0;
      position_rows(r0, rows);
      block_window(b);
      const int64_t lo = blk_lo_[static_cast<size_t>(b)], len = blk_hi_[static_cast<size_t>(b)] - lo;
      gemm_serial(Yp.middleCols(r0, rows), X.middleCols(lo, len), Kp.block(r0, lo, rows, len).transpose(), false);
    });
  } else {
    // Wide foci cover most of K: one share of the rows per thread, multiplied in full.
    parallel_chunks(
        out_,
        [&](int64_t r0, int64_t rows) {
          position_rows(r0, rows);
          gemm_serial(Yp.middleCols(r0, rows), X, Kp.middleRows(r0, rows).transpose(), false);
        },
        work < (int64_t(1) << 20) ? out_ + 1 : 0);
    for (int64_t b = 0; b + 1 < static_cast<int64_t>(bounds_.size()); ++b) block_window(b);
  }
  k_valid_ = true;
  // Y[:, order_[r]] = Yp[:, r] + b.
  const bool bias = opt_.bias;
  if (identity_order_) {
    if (bias) Yp.rowwise() += CRowVecMap<T>(bias_.value.data(), out_);
    return this->output_;
  }
  parallel_chunks(
      n,
      [&](int64_t i0, int64_t rows) {
        for (int64_t i = i0; i < i0 + rows; ++i) {
          const T* src = yp_.data() + i * out_;
          T* dst = this->output_.data() + i * out_;
          for (int64_t r = 0; r < out_; ++r) dst[order_[static_cast<size_t>(r)]] = src[r];
          if (bias)
            for (int64_t j = 0; j < out_; ++j) dst[j] += bias_.value[j];
        }
      },
      n * out_ < (int64_t(1) << 15) ? n + 1 : 0);
  return this->output_;
}

namespace {

// Sums over one neuron's window that its parameter gradients need: with P = dL/dphi = (G^T X) ∘ W,
// d = tau - mu and u the normaliser's weight (phi^2 for Eq. 7, phi for Algorithm 2),
//   a = sum P phi,  p1 = sum P phi d,  p2 = sum P phi d^2,  u1 = sum u d,  u2 = sum u d^2
// (per axis in 2D), gathered in one pass that also accumulates dW += (G^T X) ∘ Phi.
template <typename T>
struct FocusMoments {
  T a = 0, p1x = 0, p2x = 0, u1x = 0, u2x = 0, p1y = 0, p2y = 0, u1y = 0, u2y = 0;
};

template <typename T, bool kTwoD, bool kPhiSquared>
FocusMoments<T> focus_moments(const T* __restrict g, const T* __restrict ph, const T* __restrict w, T* __restrict dw,
                              const T* __restrict px, const T* __restrict py, int64_t len, T mux, T muy, T thr) {
  T a = 0, p1x = 0, p2x = 0, u1x = 0, u2x = 0, p1y = 0, p2y = 0, u1y = 0, u2y = 0;
#pragma omp simd reduction(+ : a, p1x, p2x, u1x, u2x, p1y, p2y, u1y, u2y)
  for (int64_t k = 0; k < len; ++k) {
    const T p = ph[k];
    const T gk = p >= thr ? g[k] : T(0);  // a pruned coefficient passes no gradient (thr 0: none is)
    dw[k] += gk * p;
    const T pp = gk * w[k] * p;
    const T u = kPhiSquared ? p * p : p;
    const T dx = px[k] - mux;
    a += pp;
    p1x += pp * dx;
    p2x += pp * dx * dx;
    u1x += u * dx;
    u2x += u * dx * dx;
    if (kTwoD) {
      const T dy = py[k] - muy;
      p1y += pp * dy;
      p2y += pp * dy * dy;
      u1y += u * dy;
      u2y += u * dy * dy;
    }
  }
  return {a, p1x, p2x, u1x, u2x, p1y, p2y, u1y, u2y};
}

template <typename T>
void accumulate_dw(const T* __restrict g, const T* __restrict ph, T* __restrict dw, int64_t len, T thr) {
#pragma omp simd
  for (int64_t k = 0; k < len; ++k) dw[k] += ph[k] >= thr ? g[k] * ph[k] : T(0);
}

}  // namespace

template <typename T>
const Tensor<T>& FocusBase<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  const Tensor<T>& x = *this->input_;
  const int64_t n = x.batch(), m = in_;
  CMapR<T> G(grad_out.data(), n, out_);
  CMapR<T> X(x.data(), n, m);
  if (!k_valid_) compute_rows();  // prune() between forward and backward: same order, new mask
  CMapR<T> Kp(k_.data(), out_, m);
  const int64_t work = n * out_ * m;
  // Gp[:, r] = G[:, order_[r]]: G's columns in block order.
  gp_.resize(Shape{n, out_});
  if (!identity_order_)
    parallel_chunks(
        n,
        [&](int64_t i0, int64_t rows) {
          for (int64_t i = i0; i < i0 + rows; ++i) {
            const T* src = grad_out.data() + i * out_;
            T* dst = gp_.data() + i * out_;
            for (int64_t r = 0; r < out_; ++r) dst[r] = src[order_[static_cast<size_t>(r)]];
          }
        },
        n * out_ < (int64_t(1) << 15) ? n + 1 : 0);
  CMapR<T> Gp(identity_order_ ? grad_out.data() : gp_.data(), n, out_);
  if (need_input_grad) {  // dX = G K = Gp Kp
    this->grad_input_.resize(x.shape());
    MapR<T> dX(this->grad_input_.data(), n, m);
    if (!windowed_ || work < (int64_t(1) << 20)) {
      gemm(dX, Gp, Kp, false);
    } else {
      // Over each block's window; rows of dX per thread, each adding all blocks' products.
      parallel_chunks(
          n,
          [&](int64_t i0, int64_t rows) {
            auto dst = dX.middleRows(i0, rows);
            dst.setZero();
            for (size_t b = 0; b + 1 < bounds_.size(); ++b) {
              const int64_t r0 = bounds_[b], cnt = bounds_[b + 1] - r0;
              const int64_t lo = blk_lo_[b], len = blk_hi_[b] - lo;
              gemm_serial(dst.middleCols(lo, len), Gp.block(i0, r0, rows, cnt), Kp.block(r0, lo, cnt, len), true);
            }
          },
          2);
    }
  }

  bool mu_grad[2] = {false, false}, sigma_grad[2] = {false, false};
  bool any_focus = false;
  for (size_t d = 0; d < mus_.size(); ++d) any_focus |= (mu_grad[d] = mus_[d].trainable);
  for (size_t d = 0; d < sigmas_.size(); ++d) any_focus |= (sigma_grad[d] = sigmas_[d].trainable);
  const T thr = static_cast<T>(prune_);
  const T c = static_cast<T>(std::sqrt(static_cast<double>(m)));
  const T inv_m = T(1) / static_cast<T>(m);

  // dW = (G^T X) ∘ Phi and the mu/sigma sums of neuron j, in one pass over its window [lo, lo +
  // len); g and ph point at (G^T X)[j, lo] and Phi[j, lo].
  auto neuron_grads = [&](int64_t j, const T* g, const T* ph, int64_t lo, int64_t len) {
    T* dw = weight_.grad.data() + j * m + lo;
    if (!any_focus) {
      accumulate_dw(g, ph, dw, len, thr);
      return;
    }
    const T* w = weight_.value.data() + j * m + lo;
    const T* px = pos_[0].data() + lo;
    const T sx = sigmas_[0].value[j];
    const T mux = mus_[0].value[j];
    const T sy = dims_ == 2 ? (aniso_ ? sigmas_[1].value[j] : sx) : sx;
    const T muy = dims_ == 2 ? mus_[1].value[j] : T(0);
    const bool sq = norm_ == FocusNorm::L2;
    FocusMoments<T> f;
    if (dims_ == 1)
      f = sq ? focus_moments<T, false, true>(g, ph, w, dw, px, nullptr, len, mux, muy, thr)
             : focus_moments<T, false, false>(g, ph, w, dw, px, nullptr, len, mux, muy, thr);
    else
      f = sq ? focus_moments<T, true, true>(g, ph, w, dw, px, pos_[1].data() + lo, len, mux, muy, thr)
             : focus_moments<T, true, false>(g, ph, w, dw, px, pos_[1].data() + lo, len, mux, muy, thr);
    // q_k = dL/de_k * e_k (e the unnormalised Gaussian), chained through the normaliser:
    //   l2:   q = phi (P - A phi / m),  sum: q = phi (P - A / sqrt(m)),  none: q = phi P,
    // with A = sum_k P_k phi_k. Then (Eq. 8-9)
    //   dL/dmu = sum_k q_k (tau_k - mu) / sigma^2,  dL/dsigma = sum_k q_k (tau_k - mu)^2 / sigma^3,
    // where sum q d^r = p_r - coef * u_r, coef = A / m (l2), A / sqrt(m) (sum), 0 (none).
    const T coef = norm_ == FocusNorm::L2 ? f.a * inv_m : (norm_ == FocusNorm::Sum ? f.a / c : T(0));
    const T s1x = f.p1x - coef * f.u1x, s2x = f.p2x - coef * f.u2x;
    const T s1y = f.p1y - coef * f.u1y, s2y = f.p2y - coef * f.u2y;
    if (mu_grad[0]) mus_[0].grad[j] += s1x / (sx * sx);
    if (dims_ == 2 && mu_grad[1]) mus_[1].grad[j] += s1y / (sy * sy);
    if (dims_ == 1 || !aniso_) {
      if (sigma_grad[0]) sigmas_[0].grad[j] += (s2x + s2y) / (sx * sx * sx);
    } else {
      if (sigma_grad[0]) sigmas_[0].grad[j] += s2x / (sx * sx * sx);
      if (sigma_grad[1]) sigmas_[1].grad[j] += s2y / (sy * sy * sy);
    }
  };

  // Per block (or, for wide foci, per piece of a thread's share): S = G^T X over the rows' window,
  // into a per-thread scratch that stays in cache (one full GEMM into memory is slower even when
  // the windows cover K), consumed neuron by neuron right away with the forward's Phi.
  const int nt = max_threads();
  if (static_cast<int>(scratch_.size()) < nt) scratch_.resize(static_cast<size_t>(nt));
  // Every thread's scratch is sized here, before the blocks are handed out: with dynamic scheduling
  // a thread may get its first block many steps in, and must not allocate then.
  int64_t most_rows = kBackwardRows;
  for (size_t b = 0; b + 1 < bounds_.size(); ++b) most_rows = std::max(most_rows, bounds_[b + 1] - bounds_[b]);
  for (auto& s : scratch_) s.resize(Shape{most_rows * m});
  auto rows_grads = [&](int64_t r0, int64_t rows, int64_t L, int64_t H, int t) {
    Tensor<T>& s = scratch_[static_cast<size_t>(t)];
    s.resize(Shape{std::max(rows, kBackwardRows) * m});
    MapR<T> S(s.data(), rows, H - L);
    gemm_serial(S, Gp.middleCols(r0, rows).transpose(), X.middleCols(L, H - L), false);
    for (int64_t r = r0; r < r0 + rows; ++r) {
      // The window row r of Phi was written for (inside [L, H) unless the foci changed since).
      const int64_t lo = std::max(L, row_lo_[static_cast<size_t>(r)]);
      const int64_t hi = std::min(H, row_hi_[static_cast<size_t>(r)]);
      if (hi > lo)
        neuron_grads(order_[static_cast<size_t>(r)], s.data() + (r - r0) * (H - L) + (lo - L), phi_.data() + r * m + lo,
                     lo, hi - lo);
    }
  };
  if (windowed_) {
    for_blocks(work, [&](int64_t b, int t) {
      const size_t bs = static_cast<size_t>(b);
      rows_grads(bounds_[bs], bounds_[bs + 1] - bounds_[bs], blk_lo_[bs], blk_hi_[bs], t);
    });
  } else {
    // One even share of the rows per thread, in pieces of at most kBackwardRows (fewer, larger
    // products than the blocks: each product repacks X).
    auto share = [&](int64_t r0, int64_t count) {
      const int t = thread_id();
      const int64_t pieces = (count + kBackwardRows - 1) / kBackwardRows;
      for (int64_t p = 0; p < pieces; ++p) {
        const int64_t a = r0 + count * p / pieces, b = r0 + count * (p + 1) / pieces;
        int64_t L = m, H = 0;
        for (int64_t r = a; r < b; ++r) {
          L = std::min(L, row_lo_[static_cast<size_t>(r)]);
          H = std::max(H, row_hi_[static_cast<size_t>(r)]);
        }
        if (b > a) rows_grads(a, b - a, L, H, t);
      }
    };
    parallel_chunks(out_, share, work < (int64_t(1) << 20) ? out_ + 1 : 0);
  }
  // L1 / L2 penalties on the apertures (the paper's suggestion for encouraging locality).
  if (opt_.sigma_l1 > 0 || opt_.sigma_l2 > 0) {
    const T l1 = static_cast<T>(opt_.sigma_l1), l2 = static_cast<T>(2.0 * opt_.sigma_l2);
    for (size_t d = 0; d < sigmas_.size(); ++d) {
      if (!sigma_grad[d]) continue;
      Parameter<T>& p = sigmas_[d];
      for (int64_t j = 0; j < out_; ++j) {
        const T v = p.value[j];
        p.grad[j] += l1 * (v > 0 ? T(1) : (v < 0 ? T(-1) : T(0))) + l2 * v;
      }
    }
  }
  if (opt_.bias) RowVecMap<T>(bias_.grad.data(), out_) += G.colwise().sum();
  return this->grad_input_;
}

template class FocusBase<float>;
template class FocusBase<double>;
template class FocusDense<float>;
template class FocusDense<double>;
template class FocusDense2D<float>;
template class FocusDense2D<double>;

}  // namespace bionn
