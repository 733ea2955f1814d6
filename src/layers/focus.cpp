#include "layers/focus.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "core/eigen.h"
#include "core/gemm.h"
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
    case FocusNorm::L2: return "l2";
    case FocusNorm::Sum: return "sum";
    case FocusNorm::None: return "none";
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

}  // namespace

template <typename T>
FocusBase<T>::FocusBase(const std::string& name, int64_t height, int64_t width, int64_t out_features, int dims,
                        const FocusOptions& opt, Rng& rng)
    : name_(name),
      in_(height > 0 && width > 0 ? height * width : 0),
      out_(out_features > 0 ? out_features : 0),
      height_(height),
      width_(width),
      dims_(dims),
      aniso_(dims == 2 && opt.anisotropic),
      opt_(opt),
      norm_(FocusNorm::L2),
      focus_init_(opt.init == "focus"),
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
    throw std::invalid_argument(n + ": " + e.what() + (focus_init_ ? "" : " (or focus)"));
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
  auto lin = [](int64_t i, int64_t count) { return count > 1 ? static_cast<double>(i) / static_cast<double>(count - 1) : 0.0; };
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
      for (int d = 0; d < dims_; ++d) mus_[static_cast<size_t>(d)].value[j] = static_cast<T>(0.5 + rng.uniform(-0.025, 0.025));
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

  // Weights: Eq. 10 (U(+-sqrt(6) / ||phi_j||_2) per neuron, the variance of Appendix A.8), or a standard init.
  if (focus_init_) {
    compute_phi_and_k(false);
    for (int64_t j = 0; j < out_; ++j) {
      CArrMap<T> ph(phi_.data() + j * in_, in_);
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

template <typename T>
void FocusBase<T>::phi_rows(int64_t j0, int64_t count, bool with_k) {
  const int64_t m = in_;
  const T scale_num = static_cast<T>(std::sqrt(static_cast<double>(m)));
  const T thr = static_cast<T>(prune_);
  const bool pruned = prune_ > 0;
  // Coefficients below eps^3 of the neuron's peak (exp(-z) with z > cutoff; ~1e-21 in float32) are
  // set to 0. They are far below the rounding of any sum that includes the peak, and keeping them
  // would feed subnormal products (phi * w, phi * dL/dK) to the GEMM and the gradient loops, which
  // x86 cores execute ~100x slower: a narrow focus (sigma 0.025) made the step 20 % slower than Dense.
  const double cutoff = -3.0 * std::log(static_cast<double>(std::numeric_limits<T>::epsilon()));
  const bool windowed = dims_ == 1 && norm_ != FocusNorm::None && m > 1;
  CArrMap<T> px(pos_[0].data(), m);
    for (int64_t j = j0; j < j0 + count; ++j) {
      ArrMap<T> ph(phi_.data() + j * m, m);
      const T sx = sigmas_[0].value[j];
      const T ax = T(0.5) / (sx * sx);
      const T mux = mus_[0].value[j];
      int64_t lo = 0, hi = m;
      if (windowed) {
        // 1-D, sorted positions: the exponent is smallest at the grid point nearest mu and
        // exceeds that minimum by more than the cutoff outside |tau - mu| > hw.
        const double mm1 = static_cast<double>(m - 1), mu_d = static_cast<double>(mux);
        const double nearest = std::round(std::min(std::max(mu_d, 0.0), 1.0) * mm1);
        const int64_t is = std::min<int64_t>(m - 1, std::max<int64_t>(0, static_cast<int64_t>(nearest)));
        const T dmin = px[is] - mux;
        const T zmin = dmin * dmin * ax;
        const double hw = std::sqrt(cutoff / static_cast<double>(ax) + static_cast<double>(dmin) * dmin);
        lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor((mu_d - hw) * mm1)));
        hi = std::min<int64_t>(m, static_cast<int64_t>(std::ceil((mu_d + hw) * mm1)) + 1);
        lo = std::min(lo, is);
        hi = std::max(hi, is + 1);
        auto seg = ph.segment(lo, hi - lo);
        seg = (px.segment(lo, hi - lo) - mux).square() * ax;
        seg = (zmin - seg).exp();
        ph.head(lo).setZero();
        ph.tail(m - hi).setZero();
        const T z = norm_ == FocusNorm::L2 ? seg.matrix().norm() : seg.sum();
        seg *= scale_num / z;
      } else {
        if (dims_ == 1) {
          ph = (px - mux).square() * ax;
        } else {
          CArrMap<T> py(pos_[1].data(), m);
          const T sy = aniso_ ? sigmas_[1].value[j] : sx;
          const T ay = T(0.5) / (sy * sy);
          const T muy = mus_[1].value[j];
          ph = (px - mux).square() * ax + (py - muy).square() * ay;
        }
        if (norm_ == FocusNorm::None) {
          ph = (-ph).exp();
        } else {
          // The normaliser cancels any per-neuron factor, so shift the exponent by its minimum:
          // the largest coefficient is exp(0) and nothing underflows to an all-zero row.
          const T zmin = ph.minCoeff();
          ph = (zmin - ph).exp();
          const T z = norm_ == FocusNorm::L2 ? ph.matrix().norm() : ph.sum();
          ph *= scale_num / z;
        }
      }
      win_lo_[static_cast<size_t>(j)] = lo;
      win_hi_[static_cast<size_t>(j)] = hi;
      if (with_k) {
        ArrMap<T> k(k_.data() + j * m, m);
        CArrMap<T> w(weight_.value.data() + j * m, m);
        const int64_t len = hi - lo;
        k.head(lo).setZero();
        k.tail(m - hi).setZero();
        if (pruned)
          k.segment(lo, len) = (ph.segment(lo, len) >= thr).select(ph.segment(lo, len) * w.segment(lo, len), T(0));
        else
          k.segment(lo, len) = ph.segment(lo, len) * w.segment(lo, len);
      }
    }
}

template <typename T>
void FocusBase<T>::compute_phi_and_k(bool with_k) {
  for_rows(out_, in_, [&](int64_t j0, int64_t count) { phi_rows(j0, count, with_k); });
  if (with_k) k_valid_ = true;
}

template <typename T>
const Tensor<T>& FocusBase<T>::focus() {
  compute_phi_and_k(false);
  return phi_;
}

template <typename T>
const Tensor<T>& FocusBase<T>::effective_weight() {
  compute_phi_and_k(true);
  return k_;
}

template <typename T>
double FocusBase<T>::prune(double threshold) {
  if (!std::isfinite(threshold) || threshold < 0)
    throw std::invalid_argument(name_ + ".prune: threshold must be >= 0, got " + num(threshold));
  prune_ = threshold;
  opt_.prune_threshold = threshold;
  compute_phi_and_k(true);
  if (threshold <= 0) return 0.0;
  const T thr = static_cast<T>(threshold);
  int64_t cut = 0;
  for (int64_t i = 0; i < phi_.size(); ++i) cut += phi_[i] < thr;
  return static_cast<double>(cut) / static_cast<double>(phi_.size());
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
const Tensor<T>& FocusBase<T>::forward(const Tensor<T>& x, bool, Rng&) {
  check_input(x);
  const int64_t n = x.batch();
  this->input_ = &x;
  // Phi and K once per pass (Algorithms 1-2), then one GEMM: Y = X K^T + b.
  this->output_.resize(Shape{n, out_});
  CMapR<T> X(x.data(), n, in_);
  CMapR<T> K(k_.data(), out_, in_);
  MapR<T> Y(this->output_.data(), n, out_);
  compute_phi_and_k(true);
  gemm(Y, X, K.transpose(), false);
  if (opt_.bias) Y.rowwise() += CRowVecMap<T>(bias_.value.data(), out_);
  return this->output_;
}

template <typename T>
const Tensor<T>& FocusBase<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  const Tensor<T>& x = *this->input_;
  const int64_t n = x.batch(), m = in_;
  CMapR<T> G(grad_out.data(), n, out_);
  CMapR<T> X(x.data(), n, m);
  if (need_input_grad) {  // dX = G K, before K's buffer is reused below
    if (!k_valid_) compute_phi_and_k(true);  // a second backward after one forward
    this->grad_input_.resize(x.shape());
    MapR<T> dX(this->grad_input_.data(), n, m);
    gemm(dX, G, CMapR<T>(k_.data(), out_, m), false);
  }
  // G^T X, into K's buffer (the next forward recomputes K): dW = (G^T X) ∘ Phi, dPhi = (G^T X) ∘ W.
  Tensor<T>& gtx = k_;
  k_valid_ = false;
  MapR<T> GtX(gtx.data(), out_, m);
  gemm(GtX, G.transpose(), X, false);

  bool mu_grad[2] = {false, false}, sigma_grad[2] = {false, false};
  bool any_focus = false;
  for (size_t d = 0; d < mus_.size(); ++d) any_focus |= (mu_grad[d] = mus_[d].trainable);
  for (size_t d = 0; d < sigmas_.size(); ++d) any_focus |= (sigma_grad[d] = sigmas_[d].trainable);
  const T thr = static_cast<T>(prune_);
  const bool pruned = prune_ > 0;
  const T c = static_cast<T>(std::sqrt(static_cast<double>(m)));
  const T inv_m = T(1) / static_cast<T>(m);
  CArrMap<T> px(pos_[0].data(), m);

  auto grad_rows = [&](int64_t j0, int64_t count) {
    for (int64_t j = j0; j < j0 + count; ++j) {
      // Outside the window phi is exactly 0: nothing to add there.
      const int64_t lo = win_lo_[static_cast<size_t>(j)], len = win_hi_[static_cast<size_t>(j)] - lo;
      CArrMap<T> g(gtx.data() + j * m + lo, len);
      CArrMap<T> ph(phi_.data() + j * m + lo, len);
      CArrMap<T> w(weight_.value.data() + j * m + lo, len);
      ArrMap<T> dw(weight_.grad.data() + j * m + lo, len);
      if (pruned)
        dw += (ph >= thr).select(g * ph, T(0));
      else
        dw += g * ph;
      if (!any_focus) continue;
      const T sx = sigmas_[0].value[j];
      const T mux = mus_[0].value[j];
      const T sy = dims_ == 2 ? (aniso_ ? sigmas_[1].value[j] : sx) : sx;
      const T muy = dims_ == 2 ? mus_[1].value[j] : T(0);
      T s1x = 0, s2x = 0, s1y = 0, s2y = 0;
      // q_k = dL/de_k * e_k (e the unnormalised Gaussian), chained through the normaliser:
      //   l2:   q = phi (P - A phi / m),  sum: q = phi (P - A / sqrt(m)),  none: q = phi P,
      // with P = dL/dphi = (G^T X) ∘ W and A = sum_k P_k phi_k. Then (Eq. 8)
      //   dL/dmu = sum_k q_k (tau_k - mu) / sigma^2,  dL/dsigma = sum_k q_k (tau_k - mu)^2 / sigma^3.
      auto moments = [&](const auto& q) {
        const auto dx = px.segment(lo, len) - mux;
        s1x = (q * dx).sum();
        s2x = (q * dx.square()).sum();
        if (dims_ == 2) {
          CArrMap<T> py(pos_[1].data() + lo, len);
          const auto dy = py - muy;
          s1y = (q * dy).sum();
          s2y = (q * dy.square()).sum();
        }
      };
      auto with_p = [&](const auto& P) {
        const T A = (P * ph).sum();
        switch (norm_) {
          case FocusNorm::L2: moments(ph * (P - (A * inv_m) * ph)); break;
          case FocusNorm::Sum: moments(ph * (P - A / c)); break;
          case FocusNorm::None: moments(ph * P); break;
        }
      };
      if (pruned)
        with_p((ph >= thr).select(g * w, T(0)));
      else
        with_p(g * w);
      if (mu_grad[0]) mus_[0].grad[j] += s1x / (sx * sx);
      if (dims_ == 2 && mu_grad[1]) mus_[1].grad[j] += s1y / (sy * sy);
      if (dims_ == 1 || !aniso_) {
        if (sigma_grad[0]) sigmas_[0].grad[j] += (s2x + s2y) / (sx * sx * sx);
      } else {
        if (sigma_grad[0]) sigmas_[0].grad[j] += s2x / (sx * sx * sx);
        if (sigma_grad[1]) sigmas_[1].grad[j] += s2y / (sy * sy * sy);
      }
    }
  };
  for_rows(out_, m, grad_rows);
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
