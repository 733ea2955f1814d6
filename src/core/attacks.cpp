#include "core/attacks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "core/interrupt.h"
#include "core/parallel.h"

namespace bionn {

namespace {

void check_options(const AttackOptions& o) {
  if (!(o.eps >= 0) || !std::isfinite(o.eps)) throw std::invalid_argument("attack: eps must be finite and >= 0");
  if (!(o.alpha >= 0) || !std::isfinite(o.alpha)) throw std::invalid_argument("attack: alpha must be finite and >= 0");
  if (o.steps < 0) throw std::invalid_argument("attack: steps must be >= 0");
  if (!(o.clip_min < o.clip_max)) throw std::invalid_argument("attack: clip_min must be < clip_max");
  if (o.batch_size <= 0) throw std::invalid_argument("attack: batch_size must be positive");
}

template <typename T>
inline T clampv(T v, T lo, T hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// The iterations on one model (a replica leased by pgd_attack, so concurrent attacks share nothing
// mutable); polls for Ctrl-C at every step.
template <typename T>
Tensor<T> run_pgd(Sequential<T>& model, DataView<T> x, DataView<T> y, Loss<T>& loss, const AttackOptions& o,
                  const DataView<T>* start) {
  const int64_t n = x.samples(), row = x.shape.sample_numel(), rowy = y.shape.sample_numel();
  const T eps = static_cast<T>(o.eps), alpha = static_cast<T>(o.alpha);
  const T lo = static_cast<T>(o.clip_min), hi = static_cast<T>(o.clip_max);
  Tensor<T> adv(x.shape);
  Rng noise(o.seed);

  // The backward pass accumulates parameter gradients as a side effect: keep the caller's.
  auto params = model.parameters();
  std::vector<Tensor<T>> saved;
  saved.reserve(params.size());
  for (auto* p : params) saved.push_back(p->grad);

  Tensor<T> xb, yb;
  for (int64_t first = 0; first < n; first += o.batch_size) {
    const int64_t count = std::min(o.batch_size, n - first), m = count * row;
    const T* clean = x.data + first * row;
    T* a = adv.data() + first * row;
    yb.resize(y.shape.with_batch(count));
    std::memcpy(yb.data(), y.data + first * rowy, sizeof(T) * static_cast<size_t>(count * rowy));
    xb.resize(x.shape.with_batch(count));
    // x_0: the clean images, plus the start perturbation (uniform in [−ε, ε] drawn serially from the
    // attack's own engine, or the caller's), clipped to the valid range.
    if (start) {
      const T* s0 = start->data + first * row;
      for (int64_t i = 0; i < m; ++i) a[i] = clampv(clean[i] + clampv(s0[i], -eps, eps), lo, hi);
    } else if (o.random_start) {
      for (int64_t i = 0; i < m; ++i) a[i] = clampv(clean[i] + static_cast<T>(noise.uniform(-o.eps, o.eps)), lo, hi);
    } else {
      for (int64_t i = 0; i < m; ++i) a[i] = clampv(clean[i], lo, hi);
    }
    for (int step = 0; step < o.steps; ++step) {
      poll_interrupt();
      std::memcpy(xb.data(), a, sizeof(T) * static_cast<size_t>(m));
      const Tensor<T>& out = model.forward(xb, false);
      if (out.ndim() != 2 || out.batch() != count)
        throw std::invalid_argument("attack: the model must output (N, classes) logits, got shape " +
                                    out.shape().str());
      loss.forward(out, yb);
      const Tensor<T>& g = model.backward(loss.backward(), true);
      if (g.shape() != xb.shape())
        throw std::invalid_argument("attack: the model returned no input gradient of the images' shape");
      const T* gd = g.data();
      parallel_chunks(m, [&](int64_t s, int64_t c) {
        for (int64_t i = s; i < s + c; ++i) {
          const T sg = gd[i] > 0 ? T(1) : (gd[i] < 0 ? T(-1) : T(0));
          const T stepped = a[i] + alpha * sg;
          // Projection onto the ε-ball around the clean image, then onto the valid range.
          a[i] = clampv(clean[i] + clampv(stepped - clean[i], -eps, eps), lo, hi);
        }
      });
    }
  }
  for (size_t k = 0; k < params.size(); ++k)
    std::memcpy(params[k]->grad.data(), saved[k].data(), sizeof(T) * static_cast<size_t>(saved[k].size()));
  return adv;
}

template <typename T>
Tensor<T> attack(const char* name, Sequential<T>& model, DataView<T> x, DataView<T> y, Loss<T>& loss,
                 const AttackOptions& o, const DataView<T>* start) {
  check_options(o);
  if (x.samples() == 0) throw std::invalid_argument("attack: images are empty");
  if (y.samples() != x.samples())
    throw std::invalid_argument("attack: " + std::to_string(x.samples()) + " images but " +
                                std::to_string(y.samples()) + " labels");
  if (start && start->shape != x.shape)
    throw std::invalid_argument("attack: start has shape " + start->shape.str() + ", expected " + x.shape.str());
  return model.infer(name, &loss, [&](Sequential<T>& m, Loss<T>* l) { return run_pgd(m, x, y, *l, o, start); });
}

}  // namespace

template <typename T>
Tensor<T> pgd_attack(Sequential<T>& model, DataView<T> x, DataView<T> y, Loss<T>& loss, const AttackOptions& o,
                     const DataView<T>* start) {
  return attack("pgd", model, x, y, loss, o, start);
}

template <typename T>
Tensor<T> fgsm_attack(Sequential<T>& model, DataView<T> x, DataView<T> y, Loss<T>& loss, double eps, double clip_min,
                      double clip_max, int64_t batch_size) {
  AttackOptions o;
  o.eps = eps;
  o.alpha = eps;
  o.steps = 1;
  o.random_start = false;
  o.clip_min = clip_min;
  o.clip_max = clip_max;
  o.batch_size = batch_size;
  return attack<T>("fgsm", model, x, y, loss, o, nullptr);
}

template Tensor<float> pgd_attack(Sequential<float>&, DataView<float>, DataView<float>, Loss<float>&,
                                  const AttackOptions&, const DataView<float>*);
template Tensor<double> pgd_attack(Sequential<double>&, DataView<double>, DataView<double>, Loss<double>&,
                                   const AttackOptions&, const DataView<double>*);
template Tensor<float> fgsm_attack(Sequential<float>&, DataView<float>, DataView<float>, Loss<float>&, double, double,
                                   double, int64_t);
template Tensor<double> fgsm_attack(Sequential<double>&, DataView<double>, DataView<double>, Loss<double>&, double,
                                    double, double, int64_t);

}  // namespace bionn
