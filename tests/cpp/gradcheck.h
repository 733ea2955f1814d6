// Test helpers: tensor construction and central finite-difference gradient checks in double
// precision. A layer is checked with loss = sum(output * w) for fixed random w, which makes
// dLoss/dOutput = w, so one backward(w) gives every analytic gradient to compare against.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "core/layer.h"
#include "core/losses.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace bionn_test {

using bionn::Layer;
using bionn::Loss;
using bionn::Parameter;
using bionn::Rng;
using bionn::Shape;
using bionn::Tensor;

// A tensor with explicit contents (row-major).
template <typename T = double>
Tensor<T> make_tensor(const Shape& s, std::initializer_list<double> values) {
  Tensor<T> t(s);
  if (static_cast<int64_t>(values.size()) != t.size()) throw std::logic_error("make_tensor: wrong value count");
  int64_t i = 0;
  for (double v : values) t[i++] = static_cast<T>(v);
  return t;
}

// Uniform values in [lo, hi).
template <typename T = double>
Tensor<T> random_tensor(const Shape& s, Rng& rng, double lo = -1.0, double hi = 1.0) {
  Tensor<T> t(s);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<T>(rng.uniform(lo, hi));
  return t;
}

// Uniform values in +-[min_abs, max_abs): keeps inputs away from kinks at 0 (ReLU, L1, ...).
template <typename T = double>
Tensor<T> random_away_from_zero(const Shape& s, Rng& rng, double min_abs, double max_abs) {
  Tensor<T> t(s);
  for (int64_t i = 0; i < t.size(); ++i) {
    const double mag = rng.uniform(min_abs, max_abs);
    t[i] = static_cast<T>(rng.uniform() < 0.5 ? -mag : mag);
  }
  return t;
}

// Pairwise distinct values spaced `gap` apart, in random order: no ties, so max-pooling's argmax
// cannot switch under a finite-difference step.
template <typename T = double>
Tensor<T> distinct_tensor(const Shape& s, Rng& rng, double gap = 0.05) {
  Tensor<T> t(s);
  std::vector<int64_t> order(static_cast<size_t>(t.size()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  rng.shuffle(order.begin(), order.end());
  const double mid = 0.5 * gap * static_cast<double>(t.size());
  for (int64_t i = 0; i < t.size(); ++i)
    t[i] = static_cast<T>(gap * static_cast<double>(order[static_cast<size_t>(i)]) - mid);
  return t;
}

template <typename T>
std::vector<T> to_vector(const Tensor<T>& t) {
  return std::vector<T>(t.data(), t.data() + t.size());
}

struct GradCheckOptions {
  double h = 1e-5;     // finite-difference step
  double rtol = 1e-6;  // relative tolerance ...
  double atol = 1e-8;  // ... plus an absolute floor for entries near zero
  bool training = true;
  uint64_t rng_seed = 1234;   // the layer's engine is re-seeded before every forward (fixed dropout masks)
  uint64_t weight_seed = 99;  // the random weights w of loss = sum(output * w)
};

struct GradCheckResult {
  bool ok = true;
  int64_t checked = 0;
  int64_t failures = 0;
  double max_err = 0.0;  // max |analytic - numeric| / (atol + rtol * max(|a|, |n|)); <= 1 passes
  std::string report;    // the first few mismatches

  void compare(const std::string& what, int64_t index, double analytic, double numeric, const GradCheckOptions& o) {
    ++checked;
    const double err = std::abs(analytic - numeric);
    const double allowed = o.atol + o.rtol * std::max(std::abs(analytic), std::abs(numeric));
    const double ratio = std::isfinite(err) ? err / allowed : INFINITY;
    max_err = std::max(max_err, ratio);
    if (!(ratio <= 1.0)) {
      ok = false;
      if (++failures <= 8) {
        std::ostringstream s;
        s.precision(12);
        s << what << "[" << index << "]: analytic " << analytic << " vs numeric " << numeric << "\n";
        report += s.str();
      }
    }
  }
  std::string summary() const {
    std::ostringstream s;
    s << "checked " << checked << " entries, " << failures << " failed, worst error/allowed = " << max_err << "\n"
      << report;
    return s.str();
  }
};

// Central differences of f() with respect to every entry of v (restored afterwards).
inline std::vector<double> numeric_gradient(const std::function<double()>& f, double* v, int64_t n, double h) {
  std::vector<double> g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double saved = v[i];
    v[i] = saved + h;
    const double fp = f();
    v[i] = saved - h;
    const double fm = f();
    v[i] = saved;
    g[static_cast<size_t>(i)] = (fp - fm) / (2.0 * h);
  }
  return g;
}

// Checks dLoss/dInput and dLoss/dParameter for every parameter of `layer` at input x0.
inline GradCheckResult gradcheck(Layer<double>& layer, const Tensor<double>& x0, const GradCheckOptions& o = {}) {
  Tensor<double> x = x0;
  auto run = [&]() -> const Tensor<double>& {
    Rng rng(o.rng_seed);
    return layer.forward(x, o.training, rng);
  };
  const Shape out_shape = run().shape();
  Rng wrng(o.weight_seed);
  const Tensor<double> w = random_tensor<double>(out_shape, wrng, -1.0, 1.0);
  auto loss = [&]() {
    const Tensor<double>& y = run();
    if (y.shape() != out_shape) throw std::logic_error("gradcheck: output shape changed");
    double s = 0.0;
    for (int64_t i = 0; i < y.size(); ++i) s += y[i] * w[i];
    return s;
  };

  // Analytic gradients from one forward/backward, with parameter gradients zeroed first.
  auto params = layer.parameters();
  for (auto* p : params) p->grad.zero();
  run();
  const std::vector<double> dx = to_vector(layer.backward(w, true));
  std::vector<std::vector<double>> dparams;
  for (auto* p : params) dparams.push_back(to_vector(p->grad));

  GradCheckResult r;
  if (static_cast<int64_t>(dx.size()) != x.size()) {
    r.ok = false;
    r.report = "input gradient has " + std::to_string(dx.size()) + " entries, expected " + std::to_string(x.size());
    return r;
  }
  const std::vector<double> ndx = numeric_gradient(loss, x.data(), x.size(), o.h);
  for (size_t i = 0; i < dx.size(); ++i) r.compare("input", static_cast<int64_t>(i), dx[i], ndx[i], o);
  for (size_t k = 0; k < params.size(); ++k) {
    Parameter<double>& p = *params[k];
    const std::vector<double> np = numeric_gradient(loss, p.value.data(), p.value.size(), o.h);
    for (size_t i = 0; i < np.size(); ++i) r.compare(p.name, static_cast<int64_t>(i), dparams[k][i], np[i], o);
  }
  return r;
}

// Checks a loss's backward() against finite differences of its forward() in the prediction.
inline GradCheckResult gradcheck_loss(Loss<double>& loss, const Tensor<double>& pred0, const Tensor<double>& target,
                                      const GradCheckOptions& o = {}) {
  Tensor<double> pred = pred0;
  loss.forward(pred, target);
  const std::vector<double> analytic = to_vector(loss.backward());
  const std::vector<double> numeric =
      numeric_gradient([&]() { return loss.forward(pred, target); }, pred.data(), pred.size(), o.h);
  GradCheckResult r;
  for (size_t i = 0; i < numeric.size(); ++i) r.compare("pred", static_cast<int64_t>(i), analytic[i], numeric[i], o);
  return r;
}

}  // namespace bionn_test

// REQUIRE a gradient check to pass, printing the mismatches when it does not.
#define REQUIRE_GRADCHECK(result_expr) \
  do {                                 \
    const auto _gc = (result_expr);    \
    INFO(_gc.summary());               \
    REQUIRE(_gc.checked > 0);          \
    REQUIRE(_gc.ok);                   \
  } while (0)
