// Self-organizing network: masked AE units on a feature map (§2.1), Algorithm 1 (settling, then
// local forward/backward passes writing hidden activity back onto the map), histogram entropy
// (Eq. 2-3) and the meta-learning rules of §2.2 (Algorithm 2 and the random/local-search variants).
#include "selforg/selforg.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <stdexcept>

#include <Eigen/Core>

#include "core/eigen.h"
#include "core/gemm.h"
#include "core/interrupt.h"
#include "core/limits.h"
#include "core/optim.h"

namespace bionn {
namespace selforg {

namespace {

std::string cell_str(const Cell& c) { return "(" + std::to_string(c[0]) + ", " + std::to_string(c[1]) + ")"; }

bool overlaps(int64_t r0, int64_t c0, int64_t h0, int64_t w0, int64_t r1, int64_t c1, int64_t h1, int64_t w1) {
  return r0 < r1 + h1 && r1 < r0 + h0 && c0 < c1 + w1 && c1 < c0 + w0;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// layout and options
// ------------------------------------------------------------------------------------------------
void MapLayout::validate() const {
  if (height <= 0 || width <= 0)
    throw std::invalid_argument("feature map size must be positive, got " + std::to_string(height) + " x " +
                                std::to_string(width));
  if (image_height <= 0 || image_width <= 0) throw std::invalid_argument("image size must be positive");
  if (image_row < 0 || image_col < 0 || image_row + image_height > height || image_col + image_width > width)
    throw std::invalid_argument("the image region at " + cell_str({image_row, image_col}) + " of size " +
                                std::to_string(image_height) + " x " + std::to_string(image_width) +
                                " does not fit in the " + std::to_string(height) + " x " + std::to_string(width) +
                                " feature map");
  if (window <= 0) throw std::invalid_argument("window size N must be positive, got " + std::to_string(window));
  if (window > height || window > width)
    throw std::invalid_argument("window size N = " + std::to_string(window) + " is larger than the " +
                                std::to_string(height) + " x " + std::to_string(width) + " feature map");
  if (hidden_height <= 0 || hidden_width <= 0) throw std::invalid_argument("hidden block size must be positive");
  if (unit_locations.empty()) throw std::invalid_argument("a topology needs at least one AE unit");
  for (size_t k = 0; k < unit_locations.size(); ++k) {
    const Cell& u = unit_locations[k];
    if (u[0] < 0 || u[1] < 0 || u[0] + hidden_height > height || u[1] + hidden_width > width)
      throw std::invalid_argument("unit " + std::to_string(k) + "'s hidden block at " + cell_str(u) +
                                  " lies outside the feature map");
    if (overlaps(u[0], u[1], hidden_height, hidden_width, image_row, image_col, image_height, image_width))
      throw std::invalid_argument("unit " + std::to_string(k) + "'s hidden block at " + cell_str(u) +
                                  " overlaps the image region");
    for (size_t j = 0; j < k; ++j) {
      const Cell& v = unit_locations[j];
      if (overlaps(u[0], u[1], hidden_height, hidden_width, v[0], v[1], hidden_height, hidden_width))
        throw std::invalid_argument("units " + std::to_string(j) + " and " + std::to_string(k) +
                                    " have overlapping hidden blocks at " + cell_str(v) + " and " + cell_str(u));
    }
  }
}

void MapLayout::validate_fields(const Fields& fields) const {
  if (static_cast<int64_t>(fields.size()) != n_units())
    throw std::invalid_argument("expected receptive fields for " + std::to_string(n_units()) + " units, got " +
                                std::to_string(fields.size()));
  for (size_t k = 0; k < fields.size(); ++k) {
    if (fields[k].empty()) throw std::invalid_argument("unit " + std::to_string(k) + " has no receptive-field window");
    for (const Cell& c : fields[k])
      if (c[0] < 0 || c[1] < 0 || c[0] + window > height || c[1] + window > width)
        throw std::invalid_argument("unit " + std::to_string(k) + "'s window at " + cell_str(c) +
                                    " (N = " + std::to_string(window) + ") lies outside the " + std::to_string(height) +
                                    " x " + std::to_string(width) + " feature map");
  }
}

std::vector<int64_t> MapLayout::field_indices(const std::vector<Cell>& windows) const {
  std::vector<int64_t> idx;
  idx.reserve(windows.size() * static_cast<size_t>(window * window));
  for (const Cell& c : windows)
    for (int64_t r = 0; r < window; ++r)
      for (int64_t q = 0; q < window; ++q) idx.push_back((c[0] + r) * width + c[1] + q);
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  return idx;
}

void TrainOptions::validate() const {
  if (!(lr > 0) || !std::isfinite(lr)) throw std::invalid_argument("lr must be a positive finite number");
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    throw std::invalid_argument("Adam betas must be in [0, 1)");
  if (!(eps > 0)) throw std::invalid_argument("eps must be positive");
  if (!(l2 >= 0) || !std::isfinite(l2)) throw std::invalid_argument("l2 must be a finite number >= 0");
  if (!(dropout >= 0 && dropout < 1)) throw std::invalid_argument("dropout must be in [0, 1)");
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be positive");
  if (bins < 1) throw std::invalid_argument("bins must be >= 1");
}

void MetaOptions::validate() const {
  if (method != "hill_climbing" && method != "local_search" && method != "random_search")
    throw std::invalid_argument(
        "meta-learning method must be 'hill_climbing', 'local_search' or 'random_search', got '" + method + "'");
  if (epochs_per_step < 1) throw std::invalid_argument("epochs_per_step must be >= 1");
}

// ------------------------------------------------------------------------------------------------
// entropy (Eq. 2)
// ------------------------------------------------------------------------------------------------
template <typename T>
double histogram_entropy_of(const T* values, int64_t n, int64_t bins) {
  if (bins < 1) throw std::invalid_argument("bins must be >= 1");
  if (n <= 0) return 0.0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(values[i]);
    if (!std::isfinite(v)) throw std::invalid_argument("histogram_entropy: values must be finite");
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // The histogram spans the full observed range of activations (§2.2), as numpy.histogram(x, bins).
  if (!(hi > lo)) return 0.0;
  std::vector<int64_t> counts(static_cast<size_t>(bins), 0);
  const double width = hi - lo, norm = static_cast<double>(bins) / width, step = width / static_cast<double>(bins);
  auto edge = [&](int64_t i) { return i == bins ? hi : lo + static_cast<double>(i) * step; };
  for (int64_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(values[i]);
    int64_t b = static_cast<int64_t>((v - lo) * norm);
    if (b >= bins) b = bins - 1;
    // numpy's correction for rounding at the edges: values belong to [edge_b, edge_{b+1}).
    if (v < edge(b) && b > 0) --b;
    if (b < bins - 1 && v >= edge(b + 1)) ++b;
    ++counts[static_cast<size_t>(b)];
  }
  double h = 0.0;
  for (int64_t c : counts)
    if (c > 0) {
      const double p = static_cast<double>(c) / static_cast<double>(n);
      h -= p * std::log(p);
    }
  return h;
}

double histogram_entropy(const double* values, int64_t n, int64_t bins) {
  return histogram_entropy_of(values, n, bins);
}

// ------------------------------------------------------------------------------------------------
// AE unit (§2.1)
// ------------------------------------------------------------------------------------------------
template <typename T>
AEUnit<T>::AEUnit(int64_t map_size, int64_t n_hidden) : map_size_(map_size), n_hidden_(n_hidden) {
  if (map_size <= 0 || n_hidden <= 0) throw std::invalid_argument("AEUnit: map_size and n_hidden must be positive");
  checked_elements("AEUnit", {{"map_size", map_size}, {"n_hidden", n_hidden}}, sizeof(T), 8);
  const size_t hm = static_cast<size_t>(map_size * n_hidden), h = static_cast<size_t>(n_hidden),
               m = static_cast<size_t>(map_size);
  W_.assign(hm, T(0));
  V_.assign(hm, T(0));
  b_.assign(h, T(0));
  c_.assign(m, T(0));
  mW_.assign(hm, T(0));
  vW_.assign(hm, T(0));
  mV_.assign(hm, T(0));
  vV_.assign(hm, T(0));
  mb_.assign(h, T(0));
  vb_.assign(h, T(0));
  mc_.assign(m, T(0));
  vc_.assign(m, T(0));
  gb_.assign(h, T(0));
}

template <typename T>
void AEUnit<T>::reset_parameters(Rng& rng, int64_t fan_in) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(fan_in, 1)));
  for (auto& w : W_) w = static_cast<T>(rng.uniform(-bound, bound));
  const double dbound = 1.0 / std::sqrt(static_cast<double>(n_hidden_));
  for (auto& v : V_) v = static_cast<T>(rng.uniform(-dbound, dbound));
  for (auto* a : {&b_, &c_, &mW_, &vW_, &mV_, &vV_, &mb_, &vb_, &mc_, &vc_}) std::fill(a->begin(), a->end(), T(0));
  adam_t_ = 0;
  gather();
}

template <typename T>
void AEUnit<T>::exchange(bool to_map) {
  // One loop for both directions: weights, biases and their Adam moments, field entry by entry.
  const auto copy = [to_map](T& full, T& compact) {
    if (to_map)
      full = compact;
    else
      compact = full;
  };
  const int64_t n = field_size(), H = n_hidden_, M = map_size_;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t p = field_[static_cast<size_t>(j)];
    for (int64_t h = 0; h < H; ++h) {
      copy(W_[h * M + p], We_[h * n + j]);
      copy(mW_[h * M + p], mWe_[h * n + j]);
      copy(vW_[h * M + p], vWe_[h * n + j]);
      copy(V_[p * H + h], Vd_[j * H + h]);
      copy(mV_[p * H + h], mVd_[j * H + h]);
      copy(vV_[p * H + h], vVd_[j * H + h]);
    }
    copy(c_[p], cd_[j]);
    copy(mc_[p], mcd_[j]);
    copy(vc_[p], vcd_[j]);
  }
}

template <typename T>
void AEUnit<T>::scatter() {
  exchange(true);
}

template <typename T>
void AEUnit<T>::gather() {
  const int64_t n = field_size(), H = n_hidden_;
  const size_t hn = static_cast<size_t>(H * n), un = static_cast<size_t>(n);
  for (auto* a : {&We_, &mWe_, &vWe_, &Vd_, &mVd_, &vVd_, &gWe_, &gVd_}) a->resize(hn);
  for (auto* a : {&cd_, &mcd_, &vcd_, &gcd_}) a->resize(un);
  exchange(false);
  std::fill(gWe_.begin(), gWe_.end(), T(0));
  std::fill(gVd_.begin(), gVd_.end(), T(0));
  std::fill(gcd_.begin(), gcd_.end(), T(0));
  std::fill(gb_.begin(), gb_.end(), T(0));
  batch_ = 0;  // batch buffers depend on the field size
}

template <typename T>
void AEUnit<T>::set_field(const std::vector<int64_t>& indices) {
  if (indices.empty()) throw std::invalid_argument("AEUnit: the receptive field is empty");
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= map_size_) throw std::invalid_argument("AEUnit: field index outside the map");
    if (i && indices[i] <= indices[i - 1])
      throw std::invalid_argument("AEUnit: field indices must be sorted and unique");
  }
  // theta := theta o delta for the update, while the weights outside the new field are retained (§2.2).
  scatter();
  field_ = indices;
  gather();
}

template <typename T>
void AEUnit<T>::reserve_batch(int64_t batch) {
  if (batch <= batch_) return;
  const int64_t n = field_size(), H = n_hidden_;
  for (auto* a : {&x_, &xhat_, &dxhat_}) a->resize(static_cast<size_t>(batch * n));
  for (auto* a : {&z_, &hidden_, &code_, &drop_, &dcode_}) a->resize(static_cast<size_t>(batch * H));
  batch_ = batch;
}

template <typename T>
void AEUnit<T>::forward(const T* maps, int64_t batch, bool training, double dropout, Rng* rng) {
  if (field_.empty()) throw std::logic_error("AEUnit: set_field before forward");
  reserve_batch(batch);
  const int64_t n = field_size(), H = n_hidden_, M = map_size_;
  last_batch_ = batch;
  // x = delta_k o map, kept compact: only the field's entries.
  for (int64_t b = 0; b < batch; ++b) {
    const T* src = maps + b * M;
    T* dst = x_.data() + b * n;
    for (int64_t j = 0; j < n; ++j) dst[j] = src[field_[static_cast<size_t>(j)]];
  }
  MapR<T> X(x_.data(), batch, n), Z(z_.data(), batch, H), Hd(hidden_.data(), batch, H), C(code_.data(), batch, H),
      Xh(xhat_.data(), batch, n);
  CMapR<T> We(We_.data(), H, n), Vd(Vd_.data(), n, H);
  gemm(Z, X, We.transpose(), false);
  Z.rowwise() += RowVecMap<T>(b_.data(), H);
  Hd = Z.cwiseMax(T(0));
  const bool drop = training && dropout > 0 && rng;
  if (drop) {
    const T keep = static_cast<T>(1.0 / (1.0 - dropout));
    for (int64_t i = 0; i < batch * H; ++i) drop_[i] = rng->uniform() < dropout ? T(0) : keep;
    MapR<T> D(drop_.data(), batch, H);
    C = Hd.cwiseProduct(D);
  } else {
    std::fill(drop_.begin(), drop_.begin() + batch * H, T(1));
    C = Hd;
  }
  gemm(Xh, C, Vd.transpose(), false);
  Xh.rowwise() += RowVecMap<T>(cd_.data(), n);
}

template <typename T>
double AEUnit<T>::loss(double l2) const {
  const int64_t n = field_size(), B = last_batch_;
  double se = 0.0;
  for (int64_t i = 0; i < B * n; ++i) {
    const double d = static_cast<double>(xhat_[i]) - static_cast<double>(x_[i]);
    se += d * d;
  }
  double reg = 0.0;
  if (l2 > 0) {
    for (int64_t i = 0; i < n * n_hidden_; ++i)
      reg += static_cast<double>(We_[i]) * We_[i] + static_cast<double>(Vd_[i]) * Vd_[i];
    reg *= 0.5 * l2;
  }
  return se / static_cast<double>(B * n) + reg;
}

template <typename T>
double AEUnit<T>::backward(double l2) {
  const int64_t n = field_size(), H = n_hidden_, B = last_batch_;
  const double value = loss(l2);
  const T scale = static_cast<T>(2.0 / static_cast<double>(B * n));
  MapR<T> X(x_.data(), B, n), Z(z_.data(), B, H), C(code_.data(), B, H), Xh(xhat_.data(), B, n),
      dXh(dxhat_.data(), B, n), dC(dcode_.data(), B, H), D(drop_.data(), B, H);
  MapR<T> We(We_.data(), H, n), Vd(Vd_.data(), n, H), gWe(gWe_.data(), H, n), gVd(gVd_.data(), n, H);
  dXh = (Xh - X) * scale;
  gemm(gVd, dXh.transpose(), C, false);
  RowVecMap<T>(gcd_.data(), n) = dXh.colwise().sum();
  gemm(dC, dXh, Vd, false);
  // Through dropout and the ReLU; dC becomes dL/dz in place.
  for (int64_t i = 0; i < B * H; ++i) dcode_[i] = z_[i] > T(0) ? dcode_[i] * drop_[i] : T(0);
  gemm(gWe, dC.transpose(), X, false);
  RowVecMap<T>(gb_.data(), H) = dC.colwise().sum();
  if (l2 > 0) {
    gWe += static_cast<T>(l2) * We;
    gVd += static_cast<T>(l2) * Vd;
  }
  return value;
}

template <typename T>
void AEUnit<T>::adam_step(const TrainOptions& o) {
  ++adam_t_;
  // The core optimizer's Adam rule (core/optim.h), on the compact field buffers; no weight decay
  // here: the L2 penalty is in the loss (backward adds its gradient).
  const AdamCoefficients<T> c(o.lr, o.beta1, o.beta2, o.eps, adam_t_);
  auto update = [&c](AlignedVector<T>& p, AlignedVector<T>& m, AlignedVector<T>& v, const AlignedVector<T>& g) {
    adam_update<T>(p.data(), m.data(), v.data(), nullptr, g.data(), 0, static_cast<int64_t>(g.size()), c);
  };
  // Only the field's weights move (the gradient outside delta_k is zero by construction, and the
  // moments outside it stay frozen too, so retained weights stay exactly unchanged).
  update(We_, mWe_, vWe_, gWe_);
  update(b_, mb_, vb_, gb_);
  update(Vd_, mVd_, vVd_, gVd_);
  update(cd_, mcd_, vcd_, gcd_);
}

template <typename T>
std::vector<int64_t> AEUnit<T>::shape(const std::string& name) const {
  if (name == "encoder_weight") return {n_hidden_, map_size_};
  if (name == "encoder_bias") return {n_hidden_};
  if (name == "decoder_weight") return {map_size_, n_hidden_};
  if (name == "decoder_bias") return {map_size_};
  throw std::invalid_argument("unknown AE parameter '" + name +
                              "' (expected encoder_weight, encoder_bias, decoder_weight or decoder_bias)");
}

template <typename T>
std::vector<T> AEUnit<T>::get(const std::string& name) const {
  shape(name);
  AEUnit<T> copy = *this;  // scatter into a copy: reading must not disturb the buffers
  copy.scatter();
  if (name == "encoder_weight") return std::vector<T>(copy.W_.begin(), copy.W_.end());
  if (name == "encoder_bias") return std::vector<T>(b_.begin(), b_.end());
  if (name == "decoder_weight") return std::vector<T>(copy.V_.begin(), copy.V_.end());
  return std::vector<T>(copy.c_.begin(), copy.c_.end());
}

template <typename T>
void AEUnit<T>::set(const std::string& name, const std::vector<T>& values) {
  const auto s = shape(name);
  int64_t numel = 1;
  for (auto d : s) numel *= d;
  if (static_cast<int64_t>(values.size()) != numel)
    throw std::invalid_argument("AE parameter '" + name + "' needs " + std::to_string(numel) + " values, got " +
                                std::to_string(values.size()));
  scatter();
  AlignedVector<T>* dst = name == "encoder_weight"   ? &W_
                          : name == "encoder_bias"   ? &b_
                          : name == "decoder_weight" ? &V_
                                                     : &c_;
  std::copy(values.begin(), values.end(), dst->begin());
  gather();
}

template <typename T>
std::vector<T> AEUnit<T>::grad(const std::string& name) const {
  const auto s = shape(name);
  const int64_t n = field_size(), H = n_hidden_, M = map_size_;
  if (name == "encoder_bias") return std::vector<T>(gb_.begin(), gb_.end());
  std::vector<T> out(static_cast<size_t>(name == "decoder_bias" ? M : M * H), T(0));
  for (int64_t j = 0; j < n; ++j) {
    const int64_t p = field_[static_cast<size_t>(j)];
    if (name == "decoder_bias") {
      out[p] = gcd_[j];
      continue;
    }
    for (int64_t h = 0; h < H; ++h) {
      if (name == "encoder_weight")
        out[h * M + p] = gWe_[h * n + j];
      else
        out[p * H + h] = gVd_[j * H + h];
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// meta-network (§2, Algorithm 1)
// ------------------------------------------------------------------------------------------------
template <typename T>
SelfOrgNetwork<T>::SelfOrgNetwork(const MapLayout& layout, const Fields& fields, const TrainOptions& options,
                                  uint64_t seed)
    : layout_(layout), options_(options), rng_(seed) {
  layout_.validate();
  options_.validate();
  layout_.validate_fields(fields);
  const int64_t K = layout_.n_units(), H = layout_.n_hidden();
  for (int64_t k = 0; k < K; ++k) units_.emplace_back(layout_.map_size(), H);
  hidden_positions_.resize(static_cast<size_t>(K * H));
  for (int64_t k = 0; k < K; ++k) {
    const Cell& u = layout_.unit_locations[static_cast<size_t>(k)];
    for (int64_t r = 0; r < layout_.hidden_height; ++r)
      for (int64_t c = 0; c < layout_.hidden_width; ++c)
        hidden_positions_[static_cast<size_t>(k * H + r * layout_.hidden_width + c)] =
            (u[0] + r) * layout_.width + u[1] + c;
  }
  set_fields(fields);
  reset_parameters();
}

template <typename T>
AEUnit<T>& SelfOrgNetwork<T>::unit(int64_t k) {
  if (k < 0 || k >= n_units()) throw std::out_of_range("unit index " + std::to_string(k) + " out of range");
  return units_[static_cast<size_t>(k)];
}

template <typename T>
void SelfOrgNetwork<T>::set_fields(const Fields& fields) {
  auto use = usage_.write("set_fields");
  layout_.validate_fields(fields);
  fields_ = fields;
  for (int64_t k = 0; k < n_units(); ++k)
    units_[static_cast<size_t>(k)].set_field(layout_.field_indices(fields_[static_cast<size_t>(k)]));
}

template <typename T>
void SelfOrgNetwork<T>::adopt(SelfOrgNetwork&& other) {
  auto use = usage_.write("adopt");
  if (other.n_units() != n_units()) throw std::invalid_argument("adopt: networks differ in their number of units");
  for (size_t k = 0; k < units_.size(); ++k) units_[k] = std::move(other.units_[k]);
  fields_ = std::move(other.fields_);
  options_ = other.options_;
  rng_ = other.rng_;
  epochs_trained_ = other.epochs_trained_;
}

template <typename T>
void SelfOrgNetwork<T>::reset_parameters() {
  auto use = usage_.write("reset_parameters");
  for (auto& u : units_) u.reset_parameters(rng_, u.field_size());
  epochs_trained_ = 0;
}

template <typename T>
void SelfOrgNetwork<T>::load_images(const T* images, const int64_t* order, int64_t start, int64_t batch) {
  const int64_t M = layout_.map_size(), P = layout_.image_size();
  if (static_cast<int64_t>(maps_.size()) < batch * M) maps_.resize(static_cast<size_t>(batch * M));
  // F^(0): the input image and zeros ("non-activation") everywhere else (§2.2).
  std::fill(maps_.begin(), maps_.begin() + batch * M, T(0));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t i = order ? order[start + b] : start + b;
    const T* img = images + i * P;
    T* map = maps_.data() + b * M;
    for (int64_t r = 0; r < layout_.image_height; ++r)
      std::copy(img + r * layout_.image_width, img + (r + 1) * layout_.image_width,
                map + (layout_.image_row + r) * layout_.width + layout_.image_col);
  }
}

template <typename T>
void SelfOrgNetwork<T>::write_hidden(int64_t k, int64_t batch) {
  const int64_t M = layout_.map_size(), H = layout_.n_hidden();
  const T* hid = units_[static_cast<size_t>(k)].hidden();
  const int64_t* pos = hidden_positions_.data() + k * H;
  for (int64_t b = 0; b < batch; ++b) {
    T* map = maps_.data() + b * M;
    const T* h = hid + b * H;
    for (int64_t j = 0; j < H; ++j) map[pos[j]] = h[j];
  }
}

template <typename T>
void SelfOrgNetwork<T>::settle(int64_t batch) {
  // Algorithm 1, lines 4-9: K x K forward passes without gradients fill the map with a stable pool
  // of activations before any unit learns (a unit may read units that come after it).
  const int64_t K = n_units();
  for (int64_t pass = 0; pass < K; ++pass) {
    poll_interrupt();  // no unit has learned from this batch yet
    for (int64_t k = 0; k < K; ++k) {
      units_[static_cast<size_t>(k)].forward(maps_.data(), batch, false, 0.0, nullptr);
      write_hidden(k, batch);
    }
  }
}

template <typename T>
std::vector<double> SelfOrgNetwork<T>::train_epoch(const T* images, int64_t n, const BatchHook& hook) {
  auto use = usage_.write("train_epoch");
  return train_epoch_impl(images, n, hook);
}

template <typename T>
std::vector<double> SelfOrgNetwork<T>::train_epoch_impl(const T* images, int64_t n, const BatchHook& hook) {
  if (n <= 0) throw std::invalid_argument("train_epoch: no images");
  const int64_t K = n_units(), bs = options_.batch_size;
  order_.resize(static_cast<size_t>(n));
  std::iota(order_.begin(), order_.end(), int64_t(0));
  if (options_.shuffle) rng_.shuffle(order_.begin(), order_.end());
  std::vector<double> total(static_cast<size_t>(K), 0.0);
  for (int64_t start = 0; start < n; start += bs) {
    poll_interrupt();
    const int64_t batch = std::min(bs, n - start);
    load_images(images, order_.data(), start, batch);
    settle(batch);
    // Lines 10-15: each unit learns locally (forward, backward, update), then writes its activity.
    for (int64_t k = 0; k < K; ++k) {
      poll_interrupt();  // between two units' whole updates
      AEUnit<T>& u = units_[static_cast<size_t>(k)];
      u.forward(maps_.data(), batch, true, options_.dropout, &rng_);
      total[static_cast<size_t>(k)] += u.backward(options_.l2) * static_cast<double>(batch);
      u.adam_step(options_);
      write_hidden(k, batch);
    }
    if (hook) hook();
  }
  for (auto& t : total) t /= static_cast<double>(n);
  ++epochs_trained_;
  return total;
}

template <typename T>
void SelfOrgNetwork<T>::transform(const T* images, int64_t n, T* out, int64_t batch_size) {
  auto use = usage_.read("transform");
  std::lock_guard<std::mutex> one_at_a_time(usage_.serial());
  transform_impl(images, n, out, batch_size);
}

template <typename T>
void SelfOrgNetwork<T>::transform_impl(const T* images, int64_t n, T* out, int64_t batch_size) {
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be positive");
  const int64_t K = n_units(), H = n_hidden(), M = layout_.map_size();
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t batch = std::min(batch_size, n - start);
    load_images(images, nullptr, start, batch);
    settle(batch);
    for (int64_t k = 0; k < K; ++k) {
      units_[static_cast<size_t>(k)].forward(maps_.data(), batch, false, 0.0, nullptr);
      write_hidden(k, batch);
    }
    for (int64_t b = 0; b < batch; ++b) {
      const T* map = maps_.data() + b * M;
      T* dst = out + (start + b) * K * H;
      for (int64_t j = 0; j < K * H; ++j) dst[j] = map[hidden_positions_[static_cast<size_t>(j)]];
    }
  }
}

template <typename T>
void SelfOrgNetwork<T>::feature_maps(const T* images, int64_t n, T* out) {
  auto use = usage_.read("feature_maps");
  std::lock_guard<std::mutex> one_at_a_time(usage_.serial());
  const int64_t K = n_units(), M = layout_.map_size();
  load_images(images, nullptr, 0, n);
  settle(n);
  for (int64_t k = 0; k < K; ++k) {
    units_[static_cast<size_t>(k)].forward(maps_.data(), n, false, 0.0, nullptr);
    write_hidden(k, n);
  }
  std::copy(maps_.begin(), maps_.begin() + n * M, out);
}

template <typename T>
std::vector<double> SelfOrgNetwork<T>::entropies(const T* images, int64_t n) {
  auto use = usage_.read("entropies");
  std::lock_guard<std::mutex> one_at_a_time(usage_.serial());
  return entropies_impl(images, n);
}

template <typename T>
std::vector<double> SelfOrgNetwork<T>::entropies_impl(const T* images, int64_t n) {
  const int64_t K = n_units(), H = n_hidden();
  std::vector<T> codes(static_cast<size_t>(n * K * H)), unit_codes(static_cast<size_t>(n * H));
  transform_impl(images, n, codes.data(), 256);
  std::vector<double> out(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t i = 0; i < n; ++i)
      std::copy(codes.begin() + (i * K + k) * H, codes.begin() + (i * K + k + 1) * H, unit_codes.begin() + i * H);
    // Eq. 3: alpha_t = H(x_k)_t, over all hidden activities of unit k on the data.
    out[static_cast<size_t>(k)] = histogram_entropy_of(unit_codes.data(), n * H, options_.bins);
  }
  return out;
}

template <typename T>
std::vector<EpochStats> SelfOrgNetwork<T>::fit(const T* images, int64_t n, int64_t epochs, const T* entropy_images,
                                               int64_t n_entropy, const BatchHook& hook) {
  auto use = usage_.write("fit");
  if (epochs < 0) throw std::invalid_argument("epochs must be >= 0");
  std::vector<EpochStats> history;
  for (int64_t e = 0; e < epochs; ++e) {
    EpochStats s;
    s.loss = train_epoch_impl(images, n, hook);
    // "we estimate the entropy per unit per epoch" (§2.2).
    if (entropy_images && n_entropy > 0) s.entropy = entropies_impl(entropy_images, n_entropy);
    history.push_back(std::move(s));
  }
  return history;
}

// ------------------------------------------------------------------------------------------------
// topologies and meta-learning (§2.2, Algorithm 2)
// ------------------------------------------------------------------------------------------------
Fields random_fields(const MapLayout& layout, int64_t windows_per_unit, Rng& rng) {
  if (windows_per_unit < 1) throw std::invalid_argument("windows_per_unit must be >= 1");
  layout.validate();
  Fields f(static_cast<size_t>(layout.n_units()));
  const uint64_t rows = static_cast<uint64_t>(layout.height - layout.window + 1),
                 cols = static_cast<uint64_t>(layout.width - layout.window + 1);
  for (auto& unit : f)
    for (int64_t j = 0; j < windows_per_unit; ++j) {
      const int64_t r = static_cast<int64_t>(rng.below(rows));
      const int64_t c = static_cast<int64_t>(rng.below(cols));
      unit.push_back({r, c});
    }
  return f;
}

std::vector<Fields> neighbours(const MapLayout& layout, const Fields& fields, int64_t k) {
  layout.validate_fields(fields);
  if (k < 0 || k >= layout.n_units()) throw std::out_of_range("unit index " + std::to_string(k) + " out of range");
  static const int64_t moves[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
  std::vector<Fields> out;
  const auto& windows = fields[static_cast<size_t>(k)];
  for (size_t j = 0; j < windows.size(); ++j)
    for (const auto& mv : moves) {
      const int64_t r = windows[j][0] + mv[0], c = windows[j][1] + mv[1];
      if (r < 0 || c < 0 || r + layout.window > layout.height || c + layout.window > layout.width) continue;
      Fields f = fields;
      f[static_cast<size_t>(k)][j] = {r, c};
      out.push_back(std::move(f));
    }
  return out;
}

template <typename T>
MetaLearner<T>::MetaLearner(const MetaOptions& options, uint64_t seed) : options_(options), rng_(seed) {
  options_.validate();
}

template <typename T>
MetaStepResult MetaLearner<T>::step(SelfOrgNetwork<T>& net, const std::vector<double>& incumbent, const T* images,
                                    int64_t n, const T* entropy_images, int64_t n_entropy, const BatchHook& hook) {
  const int64_t K = net.n_units();
  if (static_cast<int64_t>(incumbent.size()) != K)
    throw std::invalid_argument("expected " + std::to_string(K) + " incumbent entropies, got " +
                                std::to_string(incumbent.size()));
  if (!entropy_images || n_entropy <= 0)
    throw std::invalid_argument("meta-learning needs images to estimate entropy on");
  auto use = net.usage().write("meta-learning step");
  MetaStepResult res;
  res.entropy = incumbent;
  // A candidate is the incumbent network (weights retained, §2.2) with new fields, trained for
  // epochs_per_step epochs: the meta-learner updates slower than base learning.
  auto train_candidate = [&](const Fields& f, SelfOrgNetwork<T>& cand) {
    cand.set_fields(f);
    auto hist = cand.fit(images, n, options_.epochs_per_step, entropy_images, n_entropy, hook);
    ++res.candidates;
    res.candidate_entropy = hist.back().entropy;
    return hist.back().entropy;
  };
  if (options_.method == "random_search") {
    // randomTopology(): every window of every unit re-drawn uniformly inside the map.
    const MapLayout& L = net.layout();
    Fields f = net.fields();
    for (auto& windows : f)
      for (auto& c : windows)
        c = {static_cast<int64_t>(rng_.below(static_cast<uint64_t>(L.height - L.window + 1))),
             static_cast<int64_t>(rng_.below(static_cast<uint64_t>(L.width - L.window + 1)))};
    SelfOrgNetwork<T> cand = net;
    const auto h = train_candidate(f, cand);
    const double sum_c = std::accumulate(h.begin(), h.end(), 0.0),
                 sum_i = std::accumulate(incumbent.begin(), incumbent.end(), 0.0);
    if (accept_candidate(sum_c, sum_i)) {
      net.adopt(std::move(cand));
      res.accepted = true;
      res.entropy = h;
    }
    return res;
  }
  const bool local = options_.method == "local_search";
  for (int64_t i = 0; i < K; ++i) {
    const auto nb = neighbours(net.layout(), net.fields(), i);
    if (nb.empty()) continue;
    if (!local) {
      // Algorithm 2, lines 5-14: one random neighbour of r_i; accept it and stop if H(x_i) rises.
      const Fields& f = nb[static_cast<size_t>(rng_.below(nb.size()))];
      SelfOrgNetwork<T> cand = net;
      const auto h = train_candidate(f, cand);
      if (accept_candidate(h[static_cast<size_t>(i)], incumbent[static_cast<size_t>(i)])) {
        net.adopt(std::move(cand));
        res.accepted = true;
        res.unit = i;
        res.entropy = h;
        return res;
      }
      continue;
    }
    // Local search: the best of all neighbours of r_i, accepted if it beats the incumbent.
    std::vector<double> best_h;
    double best = -std::numeric_limits<double>::infinity();
    std::unique_ptr<SelfOrgNetwork<T>> best_net;
    for (const Fields& f : nb) {
      auto cand = std::make_unique<SelfOrgNetwork<T>>(net);
      const auto h = train_candidate(f, *cand);
      if (h[static_cast<size_t>(i)] > best) {
        best = h[static_cast<size_t>(i)];
        best_h = h;
        best_net = std::move(cand);
      }
    }
    if (best_net && accept_candidate(best, incumbent[static_cast<size_t>(i)])) {
      net.adopt(std::move(*best_net));
      res.accepted = true;
      res.unit = i;
      res.entropy = best_h;
      return res;
    }
  }
  return res;
}

template double histogram_entropy_of<float>(const float*, int64_t, int64_t);
template double histogram_entropy_of<double>(const double*, int64_t, int64_t);
template class AEUnit<float>;
template class AEUnit<double>;
template class SelfOrgNetwork<float>;
template class SelfOrgNetwork<double>;
template class MetaLearner<float>;
template class MetaLearner<double>;

}  // namespace selforg
}  // namespace bionn
