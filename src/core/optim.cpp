#include "core/optim.h"

#include <Eigen/Core>
#include <algorithm>

#include "core/parallel.h"

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

namespace bionn {

namespace {

// Optimizer state (momentum, Adam's moments) of a parameter whose gradient stays 0 (a dead ReLU
// unit, a weight outside every focus window) decays geometrically into the subnormal range: 0.9^k
// reaches 1e-38 after ~800 steps, and x86 cores run subnormal arithmetic ~100x slower (a FocusDense
// step was 20 % slower after 1,500 steps). Flushing such values to 0 changes no update by more
// than 1e-38 * lr.
template <typename T>
inline T flush_subnormal(T x) {
  return std::abs(x) < std::numeric_limits<T>::min() ? T(0) : x;
}

}  // namespace

namespace {
template <typename T>
void validate(const GroupOptions& o, const std::string& who) {
  auto bad = [&](const std::string& what) { throw std::invalid_argument(who + ": " + what); };
  if (!(o.lr >= 0) || !std::isfinite(o.lr)) bad("lr must be finite and >= 0, got " + std::to_string(o.lr));
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay)) bad("weight_decay must be finite and >= 0");
  if (!(o.clip_value >= 0) || !std::isfinite(o.clip_value)) bad("clip_value must be finite and >= 0 (0: no clipping)");
  if (!(o.momentum >= 0 && o.momentum < 1)) bad("momentum must be in [0, 1), got " + std::to_string(o.momentum));
  if (!(o.dampening >= 0 && o.dampening <= 1)) bad("dampening must be in [0, 1]");
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0)) bad("nesterov needs momentum > 0 and dampening = 0");
  if (!(o.beta1 >= 0 && o.beta1 < 1)) bad("betas[0] must be in [0, 1), got " + std::to_string(o.beta1));
  if (!(o.beta2 >= 0 && o.beta2 < 1)) bad("betas[1] must be in [0, 1), got " + std::to_string(o.beta2));
  if (!(o.alpha >= 0 && o.alpha <= 1)) bad("alpha must be in [0, 1]");
  if (!(o.eps > 0) || !std::isfinite(o.eps)) bad("eps must be positive, got " + std::to_string(o.eps));
  if (o.decay_after_step && !o.decoupled_weight_decay)
    bad("decay_after_step needs decoupled weight decay (AdamW); L2 decay acts through the gradient");
  // The update runs in T: a value that rounds to 0 or overflows there would yield NaN/inf.
  if (!(static_cast<T>(o.eps) > 0)) bad("eps is too small to represent in the parameters' dtype");
  if (!std::isfinite(static_cast<T>(o.lr))) bad("lr is too large to represent in the parameters' dtype");
  if (!std::isfinite(static_cast<T>(o.weight_decay))) bad("weight_decay is too large for the parameters' dtype");
}
}  // namespace

template <typename T>
Optimizer<T>::Optimizer(std::vector<ParamGroup<T>> groups) : groups_(std::move(groups)) {
  std::set<const Parameter<T>*> seen;
  for (auto& g : groups_) {
    for (auto* p : g.params) {
      if (p == nullptr) throw std::invalid_argument("optimizer: null parameter");
      if (!seen.insert(p).second)
        throw std::invalid_argument("optimizer: parameter '" + p->name + "' appears in more than one group");
    }
    g.initial_lr = g.options.lr;
  }
  if (seen.empty()) throw std::invalid_argument("optimizer: got an empty parameter list");
}

template <typename T>
void Optimizer<T>::allocate_state() {
  state_.resize(groups_.size());
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    validate<T>(groups_[gi].options, kind());
    const int slots = state_slots(groups_[gi].options);
    for (auto* p : groups_[gi].params) {
      std::vector<Tensor<T>> st;
      for (int s = 0; s < slots; ++s) st.emplace_back(p->value.shape(), T(0));
      state_[gi].push_back(std::move(st));
    }
  }
}

template <typename T>
void Optimizer<T>::validate_options() const {
  for (const auto& g : groups_) validate<T>(g.options, kind());
}

template <typename T>
void Optimizer<T>::step() {
  // Group options stay writable after construction (Python's group_options(i) returns them by
  // reference), so re-validate them, and give every parameter the state slots its options now need
  // (e.g. momentum switched on for SGD, amsgrad for Adam); otherwise update() would index past the
  // end of a state vector sized at construction.
  validate_options();
  if (state_.size() < groups_.size()) state_.resize(groups_.size());
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const size_t slots = static_cast<size_t>(state_slots(groups_[gi].options));
    auto& group_state = state_[gi];
    if (group_state.size() < groups_[gi].params.size()) group_state.resize(groups_[gi].params.size());
    if (param_steps_.size() < groups_.size()) param_steps_.resize(groups_.size());
    param_steps_[gi].resize(groups_[gi].params.size(), 0);
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi)
      while (group_state[pi].size() < slots) group_state[pi].emplace_back(groups_[gi].params[pi]->value.shape(), T(0));
  }
  ++steps_;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const GroupOptions& o = groups_[gi].options;
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      Parameter<T>& p = *groups_[gi].params[pi];
      if (!p.trainable) continue;
      if (o.clip_value > 0) {
        const T c = static_cast<T>(o.clip_value);
        T* g = p.grad.data();
        parallel_chunks(p.grad.size(), [&](int64_t a, int64_t len) {
          for (int64_t i = a; i < a + len; ++i) g[i] = std::min(c, std::max(-c, g[i]));
        });
      }
      update(o, p, state_[gi][pi], ++param_steps_[gi][pi]);
      p.apply_clamp();  // e.g. the focus aperture sigma stays in its allowed range
    }
  }
}

template <typename T>
void Optimizer<T>::zero_grad() {
  for (auto& g : groups_)
    for (auto* p : g.params) {
      T* d = p->grad.data();
      parallel_chunks(p->grad.size(), [&](int64_t a, int64_t len) { std::fill(d + a, d + a + len, T(0)); });
    }
}

template <typename T>
std::vector<Tensor<T>*> Optimizer<T>::state_tensors() {
  std::vector<Tensor<T>*> out;
  for (auto& g : state_)
    for (auto& p : g)
      for (auto& t : p) out.push_back(&t);
  return out;
}

template <typename T>
void Optimizer<T>::reset_state() {
  for (auto& g : state_)
    for (auto& p : g)
      for (auto& t : p) std::fill(t.data(), t.data() + t.size(), T(0));
  for (auto& g : param_steps_) std::fill(g.begin(), g.end(), int64_t(0));
}

template <typename T>
SGD<T>::SGD(std::vector<ParamGroup<T>> groups) : Optimizer<T>(std::move(groups)) {
  this->allocate_state();
}

// torch.optim.SGD: d = g + wd p; buf = momentum buf + (1 - dampening) d (buf = d on the first step);
// d = nesterov ? d + momentum buf : buf; p -= lr d.
namespace {
// One pass over a chunk, branches hoisted out of the loop and no aliasing, so the compiler
// vectorises it (the generic loop with run-time branches per element did not: the optimizer step
// was ~9 % of a 784-256-256-10 MLP epoch).
template <typename T, bool kMomentum, bool kNesterov, bool kFirst>
void sgd_chunk(T* __restrict w, const T* __restrict g, T* __restrict buf, int64_t n, T lr, T wd, T mom, T damp) {
  const T tiny = std::numeric_limits<T>::min();
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i] + wd * w[i];
    if (kMomentum) {
      T b = kFirst ? d : mom * buf[i] + damp * d;
      b = std::abs(b) < tiny ? T(0) : b;  // flush_subnormal
      buf[i] = b;
      d = kNesterov ? d + mom * b : b;
    }
    w[i] -= lr * d;
  }
}
}  // namespace

template <typename T>
void SGD<T>::update(const GroupOptions& o, Parameter<T>& p, std::vector<Tensor<T>>& state, int64_t t) {
  T* w = p.value.data();
  const T* g = p.grad.data();
  const int64_t n = p.value.size();
  const T lr = static_cast<T>(o.lr), wd = static_cast<T>(o.weight_decay), mom = static_cast<T>(o.momentum);
  const T damp = static_cast<T>(1.0 - o.dampening);
  const bool first = t == 1;
  T* buf = o.momentum != 0.0 ? state[0].data() : nullptr;
  using Kernel = void (*)(T*, const T*, T*, int64_t, T, T, T, T);
  Kernel kernel = &sgd_chunk<T, false, false, false>;
  if (buf) {
    if (o.nesterov)
      kernel = first ? &sgd_chunk<T, true, true, true> : &sgd_chunk<T, true, true, false>;
    else
      kernel = first ? &sgd_chunk<T, true, false, true> : &sgd_chunk<T, true, false, false>;
  }
  parallel_chunks(
      n, [&](int64_t a, int64_t len) { kernel(w + a, g + a, buf ? buf + a : nullptr, len, lr, wd, mom, damp); });
}

template <typename T>
Adam<T>::Adam(std::vector<ParamGroup<T>> groups) : Optimizer<T>(std::move(groups)) {
  this->allocate_state();
}

template <typename T>
AdamCoefficients<T>::AdamCoefficients(double lr_, double beta1, double beta2, double eps_, int64_t t,
                                      double weight_decay, bool decoupled_weight_decay, bool bias_correction,
                                      bool eps_inside_sqrt, bool decay_after_step)
    : step_size(static_cast<T>(bias_correction ? lr_ / (1.0 - std::pow(beta1, static_cast<double>(t))) : lr_)),
      bc2_sqrt(static_cast<T>(bias_correction ? std::sqrt(1.0 - std::pow(beta2, static_cast<double>(t))) : 1.0)),
      bc2(static_cast<T>(bias_correction ? 1.0 - std::pow(beta2, static_cast<double>(t)) : 1.0)),
      b1(static_cast<T>(beta1)),
      b2(static_cast<T>(beta2)),
      // 1 - beta in double, then rounded: 1 - 0.999f is 6.7e-6 off in relative terms, torch is not.
      one_minus_b1(static_cast<T>(1.0 - beta1)),
      one_minus_b2(static_cast<T>(1.0 - beta2)),
      eps(static_cast<T>(eps_)),
      lr(static_cast<T>(lr_)),
      wd(static_cast<T>(weight_decay)),
      decoupled(decoupled_weight_decay),
      eps_inside(eps_inside_sqrt),
      decay_after(decoupled_weight_decay && decay_after_step) {}

namespace {

// The update without AMSGrad as Eigen array expressions (SIMD: sqrt and division vectorize, which a
// scalar loop with std::sqrt does not without -fno-math-errno), in the scalar loop's operation
// order. At batch size 1 on a small network this update is a third of the step.
template <typename T>
void adam_update_simd(T* w_, T* m_, T* v_, const T* g_, int64_t n, const AdamCoefficients<T>& c) {
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<A> w(w_, n), m(m_, n), v(v_, n);
  Eigen::Map<const A> g0(g_, n);
  const T tiny = std::numeric_limits<T>::min();
  const T step_size = c.step_size, bc2_sqrt = c.bc2_sqrt, bc2 = c.bc2, b1 = c.b1, b2 = c.b2, eps = c.eps;
  const T one_minus_b1 = c.one_minus_b1, one_minus_b2 = c.one_minus_b2, lr = c.lr, wd = c.wd;
  auto moments = [&](const auto& g) {
    m = b1 * m + one_minus_b1 * g;
    m = (m.abs() < tiny).select(T(0), m);  // flush_subnormal
    v = b2 * v + one_minus_b2 * g * g;
    v = (v.abs() < tiny).select(T(0), v);
  };
  if (c.decoupled) {
    if (!c.decay_after) w *= T(1) - lr * wd;
    moments(g0);
  } else {
    moments(g0 + wd * w);
  }
  if (c.eps_inside)
    w -= step_size * m / (v / bc2 + eps).sqrt();
  else
    w -= step_size * m / (v.sqrt() / bc2_sqrt + eps);
  if (c.decay_after) w -= lr * wd * w;
}

}  // namespace

template <typename T>
void adam_update(T* w, T* m, T* v, T* vmax, const T* g, int64_t begin, int64_t end, const AdamCoefficients<T>& c) {
  if (!vmax) {
    // adam_update_simd makes several passes (one per Eigen statement): over blocks of 1,024
    // elements they all hit L1 instead of streaming four arrays through memory once per pass.
    constexpr int64_t kBlock = 1024;
    for (int64_t a = begin; a < end; a += kBlock)
      adam_update_simd(w + a, m + a, v + a, g + a, std::min(kBlock, end - a), c);
    return;
  }
  // AMSGrad: the scalar loop. Locals, not c's members: the arrays could alias c, which would reload
  // them every iteration.
  const T step_size = c.step_size, bc2_sqrt = c.bc2_sqrt, bc2 = c.bc2, b1 = c.b1, b2 = c.b2, eps = c.eps;
  const T one_minus_b1 = c.one_minus_b1, one_minus_b2 = c.one_minus_b2, lr = c.lr, wd = c.wd;
  const bool decoupled = c.decoupled, eps_inside = c.eps_inside, decay_after = c.decay_after;
  for (int64_t i = begin; i < end; ++i) {
    T gi = g[i];
    if (decoupled) {
      if (!decay_after) w[i] *= T(1) - lr * wd;
    } else {
      gi += wd * w[i];
    }
    m[i] = flush_subnormal(b1 * m[i] + one_minus_b1 * gi);
    v[i] = flush_subnormal(b2 * v[i] + one_minus_b2 * gi * gi);
    vmax[i] = vmax[i] > v[i] ? vmax[i] : v[i];
    const T vh = vmax[i];
    w[i] -= step_size * m[i] / (eps_inside ? std::sqrt(vh / bc2 + eps) : std::sqrt(vh) / bc2_sqrt + eps);
    if (decay_after) w[i] -= lr * wd * w[i];
  }
}

// torch.optim.Adam / AdamW (adam_update), in parallel chunks.
template <typename T>
void Adam<T>::update(const GroupOptions& o, Parameter<T>& p, std::vector<Tensor<T>>& state, int64_t t) {
  T* w = p.value.data();
  const T* g = p.grad.data();
  T* m = state[0].data();
  T* v = state[1].data();
  T* vmax = o.amsgrad ? state[2].data() : nullptr;
  const AdamCoefficients<T> c(o.lr, o.beta1, o.beta2, o.eps, t, o.weight_decay, o.decoupled_weight_decay,
                              o.bias_correction, o.eps_inside_sqrt, o.decay_after_step);
  parallel_chunks(p.value.size(), [&](int64_t a, int64_t len) { adam_update(w, m, v, vmax, g, a, a + len, c); });
}

template <typename T>
RMSprop<T>::RMSprop(std::vector<ParamGroup<T>> groups) : Optimizer<T>(std::move(groups)) {
  this->allocate_state();
}

// torch.optim.RMSprop: sq = a sq + (1-a) g^2; avg = sqrt(sq - gavg^2 if centered) + eps;
// with momentum: buf = mom buf + g / avg, p -= lr buf; else p -= lr g / avg.
template <typename T>
void RMSprop<T>::update(const GroupOptions& o, Parameter<T>& p, std::vector<Tensor<T>>& state, int64_t t) {
  T* w = p.value.data();
  const T* g = p.grad.data();
  T* sq = state[0].data();
  T* buf = state[1].data();
  T* gavg = state[2].data();
  const int64_t n = p.value.size();
  const T a = static_cast<T>(o.alpha), eps = static_cast<T>(o.eps), lr = static_cast<T>(o.lr);
  const T one_minus_a = static_cast<T>(1.0 - o.alpha);
  const T wd = static_cast<T>(o.weight_decay), mom = static_cast<T>(o.momentum);
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + wd * w[i];
    sq[i] = flush_subnormal(a * sq[i] + one_minus_a * gi * gi);
    T avg;
    if (o.centered) {
      gavg[i] = flush_subnormal(a * gavg[i] + one_minus_a * gi);
      avg = std::sqrt(sq[i] - gavg[i] * gavg[i]) + eps;
    } else {
      avg = std::sqrt(sq[i]) + eps;
    }
    if (o.momentum > 0) {
      buf[i] = flush_subnormal(mom * buf[i] + gi / avg);
      w[i] -= lr * buf[i];
    } else {
      w[i] -= lr * gi / avg;
    }
  }
}

template <typename T>
StepLR<T>::StepLR(std::shared_ptr<Optimizer<T>> opt, int64_t step_size, double gamma)
    : LRScheduler<T>(std::move(opt)), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) throw std::invalid_argument("StepLR: step_size must be positive");
  if (!(gamma > 0) || !std::isfinite(gamma)) throw std::invalid_argument("StepLR: gamma must be positive");
}

template <typename T>
double StepLR<T>::factor(int64_t epoch) const {
  return std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

template <typename T>
ExponentialLR<T>::ExponentialLR(std::shared_ptr<Optimizer<T>> opt, double gamma)
    : LRScheduler<T>(std::move(opt)), gamma_(gamma) {
  if (!(gamma > 0) || !std::isfinite(gamma)) throw std::invalid_argument("ExponentialLR: gamma must be positive");
}

template <typename T>
double ExponentialLR<T>::factor(int64_t epoch) const {
  return std::pow(gamma_, static_cast<double>(epoch));
}

#define BIONN_INSTANTIATE(T)           \
  template class Optimizer<T>;         \
  template class SGD<T>;               \
  template class Adam<T>;              \
  template class RMSprop<T>;           \
  template class LRScheduler<T>;       \
  template class StepLR<T>;            \
  template class ExponentialLR<T>;     \
  template struct AdamCoefficients<T>; \
  template void adam_update<T>(T*, T*, T*, T*, const T*, int64_t, int64_t, const AdamCoefficients<T>&);
BIONN_INSTANTIATE(float)
BIONN_INSTANTIATE(double)
#undef BIONN_INSTANTIATE

}  // namespace bionn
