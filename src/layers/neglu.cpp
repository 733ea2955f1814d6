#include "layers/neglu.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "core/limits.h"
#include "core/parallel.h"

namespace bionn {

namespace {

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string shape_str(const std::vector<int64_t>& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + (d.size() == 1 ? ",)" : ")");
}

// Validates a selection over n units (errors prefixed by the layer name and the argument names).
void check_selection(const std::string& who, const UnitSelection& sel, int64_t n, const char* fraction_name,
                     const char* units_name) {
  if (sel.is_explicit) {
    std::vector<int64_t> sorted = sel.units;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (sorted[i] < 0 || sorted[i] >= n)
        throw std::invalid_argument(who + ": " + units_name + " index " + std::to_string(sorted[i]) +
                                    " is out of range for " + std::to_string(n) + " units");
      if (i && sorted[i] == sorted[i - 1])
        throw std::invalid_argument(who + ": " + units_name + " lists unit " + std::to_string(sorted[i]) + " twice");
    }
  } else if (!(sel.fraction >= 0.0 && sel.fraction <= 1.0)) {
    throw std::invalid_argument(who + ": " + fraction_name + " must be in [0, 1], got " + num(sel.fraction));
  }
}

// Marks the selected units of `mask` with 1 (the rest 0): the explicit list, or selected_count
// units chosen uniformly without replacement (a partial Fisher-Yates shuffle).
template <typename T>
void fill_selection(Tensor<T>& mask, const UnitSelection& sel, Rng& model_rng) {
  mask.zero();
  if (sel.is_explicit) {
    for (int64_t u : sel.units) mask[u] = T(1);
    return;
  }
  Rng own(static_cast<uint64_t>(sel.seed < 0 ? 0 : sel.seed));
  Rng& rng = sel.seed >= 0 ? own : model_rng;
  const int64_t n = mask.size(), k = selected_count(sel.fraction, n);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - i)));
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(j)]);
    mask[idx[static_cast<size_t>(i)]] = T(1);
  }
}

}  // namespace

int64_t selected_count(double fraction, int64_t n) {
  const double k = std::floor(fraction * static_cast<double>(n) + 0.5);
  return std::min<int64_t>(n, std::max<int64_t>(0, static_cast<int64_t>(k)));
}

MixLUMode parse_mixlu_mode(const std::string& name) {
  if (name == "fixed") return MixLUMode::Fixed;
  if (name == "random") return MixLUMode::RandomPerElement;
  throw std::invalid_argument("MixLU: mode must be 'fixed' or 'random', got '" + name + "'");
}

MixLUGrad parse_mixlu_grad(const std::string& name) {
  if (name == "exact") return MixLUGrad::Exact;
  if (name == "relu_mask") return MixLUGrad::ReluMask;
  throw std::invalid_argument("MixLU: neglu_grad must be 'exact' or 'relu_mask', got '" + name + "'");
}

// ------------------------------------------------------------------------------------------------
// MixLU
// ------------------------------------------------------------------------------------------------

template <typename T>
MixLU<T>::MixLU(const std::vector<int64_t>& units_shape, const UnitSelection& sel, MixLUMode mode, MixLUGrad grad,
                Rng& rng)
    : units_shape_(units_shape), sel_(sel), mode_(mode), grad_(grad) {
  if (units_shape.empty() || units_shape.size() > 3)
    throw std::invalid_argument("MixLU: num_units must be an int or a per-sample shape of 1 to 3 dimensions, got " +
                                shape_str(units_shape));
  for (int64_t d : units_shape)
    if (d <= 0) throw std::invalid_argument("MixLU: num_units must be positive, got " + shape_str(units_shape));
  std::vector<SizeArg> dims;
  for (size_t i = 0; i < units_shape.size(); ++i)
    dims.push_back({i == 0 ? "num_units[0]" : i == 1 ? "num_units[1]" : "num_units[2]", units_shape[i]});
  checked_elements("MixLU", dims, sizeof(T), 2);
  std::vector<int64_t> full{1};
  full.insert(full.end(), units_shape.begin(), units_shape.end());
  Shape s = Shape::from_vector(full);
  s.check_size();
  mask_.resize(Shape::from_vector(units_shape));
  check_selection(kind(), sel_, mask_.size(), "fraction", "negative_units");
  if (mode_ == MixLUMode::RandomPerElement && sel_.is_explicit)
    throw std::invalid_argument(
        "MixLU: mode='random' draws a new mask every forward; give a fraction, not negative_units");
  reset_parameters(rng);
}

template <typename T>
void MixLU<T>::reset_parameters(Rng& rng) {
  // The model's engine redraws a drawn mask (Sequential(seed=...) fixes it); an explicit set or the
  // layer's own seed gives the same mask every time.
  if (mode_ == MixLUMode::Fixed)
    fill_selection(mask_, sel_, rng);
  else
    mask_.zero();
}

template <typename T>
std::vector<std::pair<std::string, Tensor<T>*>> MixLU<T>::buffers() {
  if (mode_ == MixLUMode::Fixed) return {{"neglu_mask", &mask_}};
  return {};
}

template <typename T>
void MixLU<T>::draw_mask(Rng& rng) {
  // As the authors' code: exactly n - floor((1 - p) n) NegLU elements (here round(p n)), placed by
  // a random permutation over every element of this forward's input.
  const int64_t n = this->input_->size();
  const int64_t k = selected_count(sel_.fraction, n);
  elem_mask_.assign(static_cast<size_t>(n), 0);
  perm_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm_[static_cast<size_t>(i)] = i;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - i)));
    std::swap(perm_[static_cast<size_t>(i)], perm_[static_cast<size_t>(j)]);
    elem_mask_[static_cast<size_t>(perm_[static_cast<size_t>(i)])] = 1;
  }
}

template <typename T>
const Tensor<T>& MixLU<T>::forward(const Tensor<T>& x, bool, Rng& rng) {
  if (x.ndim() < 2 || x.batch() == 0)
    throw std::invalid_argument("MixLU: input must be (N, C) or (N, C, ...) with N > 0, got " + x.shape().str());
  // Compared in place (no per-step vector): the no-allocation-per-step rule.
  const auto sample_begin = x.shape().dims.begin() + 1, sample_end = x.shape().dims.begin() + x.ndim();
  if (units_shape_.size() == 1) {
    if (x.dim(1) != units_shape_[0])
      throw std::invalid_argument("MixLU: input has " + std::to_string(x.dim(1)) + " channels/features, the layer " +
                                  std::to_string(units_shape_[0]) + " units; got input shape " + x.shape().str());
  } else if (!std::equal(sample_begin, sample_end, units_shape_.begin(), units_shape_.end())) {
    const std::vector<int64_t> sample(sample_begin, sample_end);
    throw std::invalid_argument("MixLU: input sample shape " + shape_str(sample) + " differs from num_units " +
                                shape_str(units_shape_));
  }
  this->input_ = &x;
  spatial_ = x.shape().sample_numel() / mask_.size();
  this->output_.resize(x.shape());
  const T* in = x.data();
  T* out = this->output_.data();
  const int64_t n = x.size();
  if (mode_ == MixLUMode::RandomPerElement) {
    draw_mask(rng);  // sequential draws: the mask depends on the seed only, not the thread count
    const uint8_t* m = elem_mask_.data();
    parallel_chunks(n, [&](int64_t a, int64_t len) {
      for (int64_t i = a; i < a + len; ++i) out[i] = m[i] ? std::min(in[i], T(0)) : std::max(in[i], T(0));
    });
    return this->output_;
  }
  const T* m = mask_.data();
  const int64_t units = mask_.size(), s = spatial_;
  parallel_chunks(n, [&](int64_t a, int64_t len) {
    for (int64_t i = a; i < a + len; ++i) {
      const bool neg = m[(i / s) % units] != T(0);
      out[i] = neg ? std::min(in[i], T(0)) : std::max(in[i], T(0));
    }
  });
  return this->output_;
}

template <typename T>
const Tensor<T>& MixLU<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  if (!need_input_grad) return this->grad_input_;
  const Tensor<T>& x = *this->input_;
  this->grad_input_.resize(x.shape());
  const T* in = x.data();
  const T* g = grad_out.data();
  T* dx = this->grad_input_.data();
  const int64_t n = x.size(), units = mask_.size(), s = spatial_;
  const bool exact = grad_ == MixLUGrad::Exact;
  const T* fm = mask_.data();
  const uint8_t* em = elem_mask_.data();
  const bool random = mode_ == MixLUMode::RandomPerElement;
  parallel_chunks(n, [&](int64_t a, int64_t len) {
    for (int64_t i = a; i < a + len; ++i) {
      const bool neg = random ? em[i] != 0 : fm[(i / s) % units] != T(0);
      // Exact: d min(0, x)/dx = [x < 0]. ReluMask: the reference code's [x > 0] for every element.
      const bool pass = (neg && exact) ? in[i] < T(0) : in[i] > T(0);
      dx[i] = pass ? g[i] : T(0);
    }
  });
  return this->grad_input_;
}

// ------------------------------------------------------------------------------------------------
// MinMaxout
// ------------------------------------------------------------------------------------------------

template <typename T>
MinMaxout<T>::MinMaxout(int64_t num_units, int64_t pieces, const UnitSelection& min_sel, Rng& rng)
    : units_(num_units), pieces_(pieces), sel_(min_sel) {
  if (num_units <= 0)
    throw std::invalid_argument("MinMaxout: num_units must be positive, got " + std::to_string(num_units));
  if (pieces < 1) throw std::invalid_argument("MinMaxout: pieces must be >= 1, got " + std::to_string(pieces));
  if (pieces > (int64_t(1) << 30)) throw std::invalid_argument("MinMaxout: pieces is too large");
  checked_elements("MinMaxout", {{"num_units", num_units}, {"pieces", pieces}}, sizeof(T), 2);
  mask_.resize(Shape{num_units});
  check_selection(kind(), sel_, num_units, "min_fraction", "min_units");
  reset_parameters(rng);
}

template <typename T>
void MinMaxout<T>::reset_parameters(Rng& rng) {
  fill_selection(mask_, sel_, rng);
}

template <typename T>
std::vector<std::pair<std::string, Tensor<T>*>> MinMaxout<T>::buffers() {
  return {{"min_mask", &mask_}};
}

template <typename T>
const Tensor<T>& MinMaxout<T>::forward(const Tensor<T>& x, bool, Rng&) {
  if (x.ndim() < 2 || x.batch() == 0)
    throw std::invalid_argument("MinMaxout: input must be (N, C) or (N, C, ...) with N > 0, got " + x.shape().str());
  if (x.dim(1) != units_ * pieces_)
    throw std::invalid_argument("MinMaxout: input has " + std::to_string(x.dim(1)) + " channels/features, expected " +
                                "num_units * pieces = " + std::to_string(units_ * pieces_) + "; got input shape " +
                                x.shape().str());
  this->input_ = &x;
  Shape os = x.shape();
  os.dims[1] = units_;
  this->output_.resize(os);
  const int64_t N = x.batch(), s = x.shape().sample_numel() / x.dim(1), U = units_, K = pieces_;
  spatial_ = s;
  winner_.resize(static_cast<size_t>(this->output_.size()));
  const T* in = x.data();
  const T* m = mask_.data();
  T* out = this->output_.data();
  int32_t* win = winner_.data();
  parallel_chunks(
      N * U,
      [&](int64_t a, int64_t len) {
        for (int64_t r = a; r < a + len; ++r) {  // r = sample * U + unit
          const int64_t b = r / U, u = r % U;
          const bool is_min = m[u] != T(0);
          const T* base = in + (b * U * K + u * K) * s;
          for (int64_t p = 0; p < s; ++p) {
            T best = base[p];
            int32_t arg = 0;
            // Strict comparisons: the first piece attaining the extreme wins ties.
            for (int64_t k = 1; k < K; ++k) {
              const T v = base[k * s + p];
              if (is_min ? v < best : v > best) {
                best = v;
                arg = static_cast<int32_t>(k);
              }
            }
            out[r * s + p] = best;
            win[r * s + p] = arg;
          }
        }
      },
      1 << 12);
  return this->output_;
}

template <typename T>
const Tensor<T>& MinMaxout<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  if (!need_input_grad) return this->grad_input_;
  const Tensor<T>& x = *this->input_;
  this->grad_input_.resize(x.shape());
  this->grad_input_.zero();
  const int64_t N = x.batch(), s = spatial_, U = units_, K = pieces_;
  const T* g = grad_out.data();
  const int32_t* win = winner_.data();
  T* dx = this->grad_input_.data();
  parallel_chunks(
      N * U,
      [&](int64_t a, int64_t len) {
        for (int64_t r = a; r < a + len; ++r) {
          const int64_t b = r / U, u = r % U;
          T* base = dx + (b * U * K + u * K) * s;
          for (int64_t p = 0; p < s; ++p) base[win[r * s + p] * s + p] = g[r * s + p];
        }
      },
      1 << 12);
  return this->grad_input_;
}

// ------------------------------------------------------------------------------------------------
// LearnedActivation
// ------------------------------------------------------------------------------------------------

template <typename T>
LearnedActivation<T>::LearnedActivation(int64_t num_units, double positive_init, double negative_init)
    : units_(checked_elements("LearnedActivation", {{"num_units", num_units}}, sizeof(T), 4)),
      pos_init_(positive_init),
      neg_init_(negative_init),
      pos_("positive_slope", "slope", Shape{units_}),
      neg_("negative_slope", "slope", Shape{units_}) {
  if (num_units <= 0)
    throw std::invalid_argument("LearnedActivation: num_units must be positive, got " + std::to_string(num_units));
  if (!std::isfinite(static_cast<T>(positive_init)) || !std::isfinite(static_cast<T>(negative_init)))
    throw std::invalid_argument("LearnedActivation: initial slopes must be finite in the layer's dtype, got (" +
                                num(positive_init) + ", " + num(negative_init) + ")");
  Rng unused;
  reset_parameters(unused);
}

template <typename T>
void LearnedActivation<T>::reset_parameters(Rng&) {
  pos_.value.fill(static_cast<T>(pos_init_));
  neg_.value.fill(static_cast<T>(neg_init_));
}

template <typename T>
const Tensor<T>& LearnedActivation<T>::forward(const Tensor<T>& x, bool, Rng&) {
  if (x.ndim() < 2 || x.batch() == 0)
    throw std::invalid_argument("LearnedActivation: input must be (N, C) or (N, C, ...) with N > 0, got " +
                                x.shape().str());
  if (x.dim(1) != units_)
    throw std::invalid_argument("LearnedActivation: input has " + std::to_string(x.dim(1)) +
                                " channels/features, the layer " + std::to_string(units_) + " units");
  this->input_ = &x;
  spatial_ = x.shape().sample_numel() / units_;
  this->output_.resize(x.shape());
  const T* in = x.data();
  const T* ap = pos_.value.data();
  const T* an = neg_.value.data();
  T* out = this->output_.data();
  const int64_t n = x.size(), s = spatial_, U = units_;
  parallel_chunks(n, [&](int64_t a, int64_t len) {
    for (int64_t i = a; i < a + len; ++i) {
      const int64_t u = (i / s) % U;
      out[i] = in[i] > T(0) ? ap[u] * in[i] : an[u] * in[i];
    }
  });
  return this->output_;
}

template <typename T>
const Tensor<T>& LearnedActivation<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  const Tensor<T>& x = *this->input_;
  const T* in = x.data();
  const T* g = grad_out.data();
  const int64_t N = x.batch(), s = spatial_, U = units_;
  // dy/da_pos = max(0, x), dy/da_neg = min(0, x); summed over the batch and positions of a unit.
  // One unit per task, summed in a fixed order: results do not depend on the thread count.
  T* gp = pos_.grad.data();
  T* gn = neg_.grad.data();
  if (pos_.trainable || neg_.trainable) {
    parallel_chunks(
        U,
        [&](int64_t a, int64_t len) {
          for (int64_t u = a; u < a + len; ++u) {
            T sp = 0, sn = 0;
            for (int64_t b = 0; b < N; ++b) {
              const int64_t o = (b * U + u) * s;
              for (int64_t p = 0; p < s; ++p) {
                const T v = in[o + p], gv = g[o + p];
                if (v > T(0))
                  sp += gv * v;
                else
                  sn += gv * v;
              }
            }
            if (pos_.trainable) gp[u] += sp;
            if (neg_.trainable) gn[u] += sn;
          }
        },
        N * s > 256 ? 2 : U + 1);
  }
  if (!need_input_grad) return this->grad_input_;
  this->grad_input_.resize(x.shape());
  const T* ap = pos_.value.data();
  const T* an = neg_.value.data();
  T* dx = this->grad_input_.data();
  // PReLU's convention at the kink: x = 0 takes the negative slope.
  parallel_chunks(x.size(), [&](int64_t a, int64_t len) {
    for (int64_t i = a; i < a + len; ++i) {
      const int64_t u = (i / s) % U;
      dx[i] = g[i] * (in[i] > T(0) ? ap[u] : an[u]);
    }
  });
  return this->grad_input_;
}

template class MixLU<float>;
template class MixLU<double>;
template class MinMaxout<float>;
template class MinMaxout<double>;
template class LearnedActivation<float>;
template class LearnedActivation<double>;

}  // namespace bionn
