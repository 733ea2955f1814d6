// Focusing layers: gradients (finite differences) for both variants, normalisers and inits,
// Eq. 7 row norms, Fixed-s, clamping after optimizer steps, pruning, argument validation.
#include <catch2/catch.hpp>

#include <cmath>

#include "allocation.h"
#include "core/optim.h"
#include "gradcheck.h"
#include "layers/activations.h"
#include "layers/dense.h"
#include "layers/focus.h"

using namespace bionn;
using namespace bionn_test;

namespace {

FocusOptions opts(const std::string& norm, const std::string& mu_init, const std::string& init = "focus",
                  bool bias = true) {
  FocusOptions o;
  o.normalization = norm;
  o.mu_init = mu_init;
  o.init = init;
  o.bias = bias;
  o.sigma_init = 0.3;  // wide enough that every coefficient matters in a small layer
  return o;
}

}  // namespace

TEST_CASE("FocusDense gradients match finite differences", "[focus][gradcheck]") {
  const std::string norm = GENERATE(as<std::string>{}, "l2", "sum", "none");
  const std::string mu_init = GENERATE(as<std::string>{}, "spread", "center", "values");
  const std::string init = GENERATE(as<std::string>{}, "focus", "torch");
  const bool bias = GENERATE(true, false);
  CAPTURE(norm, mu_init, init, bias);
  Rng rng(11);
  FocusOptions o = opts(norm, mu_init, init, bias);
  if (mu_init == "values") o.mu_values = {0.1, 0.55, 0.9};
  FocusDense<double> f(7, 3, o, rng);
  // Spread the apertures so each neuron's sigma gradient is generic.
  for (int j = 0; j < 3; ++j) f.sigma().value[j] = 0.15 + 0.1 * j;
  REQUIRE(f.parameters().size() == (bias ? 4u : 3u));
  REQUIRE_GRADCHECK(gradcheck(f, random_tensor(Shape{5, 7}, rng)));
}

TEST_CASE("FocusDense2D gradients match finite differences", "[focus][gradcheck]") {
  const std::string norm = GENERATE(as<std::string>{}, "l2", "sum");
  const bool aniso = GENERATE(false, true);
  const std::string mu_init = GENERATE(as<std::string>{}, "spread", "center", "values");
  CAPTURE(norm, aniso, mu_init);
  Rng rng(12);
  FocusOptions o = opts(norm, mu_init);
  o.anisotropic = aniso;
  if (mu_init == "values") o.mu_values = {0.2, 0.7, 0.8, 0.3, 0.5, 0.5};
  FocusDense2D<double> f(3, 4, 3, o, rng);
  for (int j = 0; j < 3; ++j) f.sigma(0).value[j] = 0.2 + 0.1 * j;
  if (aniso)
    for (int j = 0; j < 3; ++j) f.sigma(1).value[j] = 0.4 - 0.07 * j;
  REQUIRE(f.parameters().size() == (aniso ? 6u : 5u));
  // (N, 1, H, W) input, gradient has the input's shape.
  REQUIRE_GRADCHECK(gradcheck(f, random_tensor(Shape{4, 1, 3, 4}, rng)));
  REQUIRE_GRADCHECK(gradcheck(f, random_tensor(Shape{2, 12}, rng)));
}

TEST_CASE("FocusDense with pruning has gradients for the fixed mask", "[focus][gradcheck]") {
  Rng rng(13);
  FocusOptions o = opts("l2", "spread");
  o.sigma_init = 0.15;
  FocusDense<double> f(9, 3, o, rng);
  const double sparsity = f.prune(0.05);
  REQUIRE(sparsity > 0.0);
  REQUIRE(sparsity < 1.0);
  REQUIRE_GRADCHECK(gradcheck(f, random_tensor(Shape{4, 9}, rng)));
}

TEST_CASE("Eq. 7 gives each focus row the L2 norm sqrt(m); Algorithm 2 the sum sqrt(m)", "[focus]") {
  Rng rng(14);
  const std::string norm = GENERATE(as<std::string>{}, "l2", "sum");
  FocusOptions o = opts(norm, "spread");
  o.sigma_init = 0.05;
  FocusDense<double> f(50, 6, o, rng);
  const Tensor<double>& phi = f.focus();
  for (int j = 0; j < 6; ++j) {
    double s2 = 0, s1 = 0;
    for (int i = 0; i < 50; ++i) {
      s2 += phi[j * 50 + i] * phi[j * 50 + i];
      s1 += phi[j * 50 + i];
    }
    if (norm == "l2")
      CHECK(std::sqrt(s2) == Approx(std::sqrt(50.0)).epsilon(1e-12));
    else
      CHECK(s1 == Approx(std::sqrt(50.0)).epsilon(1e-12));
  }
  // Narrow foci far from the grid do not underflow to NaN.
  f.mu().value[0] = 1.0;
  f.sigma().value[0] = 0.01;
  const Tensor<double>& phi2 = f.focus();
  for (int i = 0; i < 50; ++i) REQUIRE(std::isfinite(phi2[i]));
}

TEST_CASE("FocusDense forward equals X (Phi ∘ W)^T + b with the Gaussian of Eq. 6", "[focus]") {
  Rng rng(15);
  FocusOptions o = opts("l2", "values");
  o.mu_values = {0.25, 0.75};
  o.sigma_init = 0.2;
  FocusDense<double> f(5, 2, o, rng);
  Tensor<double> x = random_tensor(Shape{3, 5}, rng);
  const Tensor<double>& y = f.forward(x, false, rng);
  for (int j = 0; j < 2; ++j) {
    double e[5], nrm = 0;
    for (int i = 0; i < 5; ++i) {
      const double t = i / 4.0, d = t - o.mu_values[static_cast<size_t>(j)];
      e[i] = std::exp(-d * d / (2 * 0.2 * 0.2));
      nrm += e[i] * e[i];
    }
    for (int nidx = 0; nidx < 3; ++nidx) {
      double acc = f.parameters()[1]->value[j];
      for (int i = 0; i < 5; ++i)
        acc += x[nidx * 5 + i] * std::sqrt(5.0) * e[i] / std::sqrt(nrm) * f.weight().value[j * 5 + i];
      CHECK(y[nidx * 2 + j] == Approx(acc).epsilon(1e-12));
    }
  }
}

TEST_CASE("Eq. 10 initialisation bounds each neuron's weights by sqrt(6) / ||phi_j||", "[focus]") {
  Rng rng(16);
  FocusOptions o = opts("sum", "spread");
  FocusDense<double> f(40, 5, o, rng);
  const Tensor<double>& phi = f.focus();
  for (int j = 0; j < 5; ++j) {
    double s2 = 0, wmax = 0;
    for (int i = 0; i < 40; ++i) {
      s2 += phi[j * 40 + i] * phi[j * 40 + i];
      wmax = std::max(wmax, std::abs(f.weight().value[j * 40 + i]));
    }
    CHECK(wmax <= std::sqrt(6.0) / std::sqrt(s2));
    CHECK(wmax > 0.5 * std::sqrt(6.0) / std::sqrt(s2));
  }
  for (int j = 0; j < 5; ++j) CHECK(f.parameters()[1]->value[j] == 0.0);
  // Spread: linspace(0.2, 0.8, 5); sigma: the initial value.
  for (int j = 0; j < 5; ++j) CHECK(f.mu().value[j] == Approx(0.2 + 0.15 * j));
  for (int j = 0; j < 5; ++j) CHECK(f.sigma().value[j] == Approx(0.3));
  // Center: 0.5 + U(-0.025, 0.025).
  FocusDense<double> c(40, 20, opts("l2", "center"), rng);
  for (int j = 0; j < 20; ++j) CHECK(std::abs(c.mu().value[j] - 0.5) <= 0.025);
}

TEST_CASE("Fixed-s leaves mu and sigma untouched; trained foci stay inside their bounds", "[focus]") {
  Rng rng(17);
  const bool trainable = GENERATE(false, true);
  CAPTURE(trainable);
  FocusOptions o = opts("l2", "spread");
  o.trainable_focus = trainable;
  o.sigma_init = 0.02;
  FocusDense<double> f(12, 4, o, rng);
  const auto mu0 = to_vector(f.mu().value);
  const auto s0 = to_vector(f.sigma().value);
  ParamGroup<double> g;
  g.params = f.parameters();
  g.options.lr = 5.0;  // huge steps push the foci against the bounds
  SGD<double> opt({g});
  Tensor<double> x = random_tensor(Shape{8, 12}, rng);
  Tensor<double> gy = random_tensor(Shape{8, 4}, rng, 5.0, 10.0);
  for (int step = 0; step < 5; ++step) {
    opt.zero_grad();
    f.forward(x, true, rng);
    f.backward(gy, true);
    if (!trainable) {
      for (int j = 0; j < 4; ++j) REQUIRE(f.mu().grad[j] == 0.0);
      for (int j = 0; j < 4; ++j) REQUIRE(f.sigma().grad[j] == 0.0);
    }
    opt.step();
  }
  if (!trainable) {
    CHECK(to_vector(f.mu().value) == mu0);
    CHECK(to_vector(f.sigma().value) == s0);
  } else {
    CHECK(to_vector(f.mu().value) != mu0);
    for (int j = 0; j < 4; ++j) {
      CHECK(f.mu().value[j] >= 0.0);
      CHECK(f.mu().value[j] <= 1.0);
      CHECK(f.sigma().value[j] >= 0.01);
      CHECK(f.sigma().value[j] <= 1.0);
    }
  }
}

TEST_CASE("sigma L1/L2 penalties add their gradient in backward", "[focus]") {
  Rng rng(18);
  FocusOptions o = opts("l2", "spread");
  FocusDense<double> plain(6, 3, o, rng);
  o.sigma_l1 = 0.3;
  o.sigma_l2 = 0.7;
  Rng rng2(18);
  FocusDense<double> pen(6, 3, o, rng2);
  for (int j = 0; j < 3; ++j) pen.sigma().value[j] = plain.sigma().value[j] = 0.1 + 0.2 * j;
  for (int64_t i = 0; i < plain.weight().value.size(); ++i) pen.weight().value[i] = plain.weight().value[i];
  Tensor<double> x = random_tensor(Shape{3, 6}, rng), gy = random_tensor(Shape{3, 3}, rng);
  plain.forward(x, true, rng);
  plain.backward(gy, true);
  pen.forward(x, true, rng);
  pen.backward(gy, true);
  for (int j = 0; j < 3; ++j) {
    const double s = 0.1 + 0.2 * j;
    CHECK(pen.sigma().grad[j] - plain.sigma().grad[j] == Approx(0.3 + 2 * 0.7 * s));
  }
  CHECK(pen.sigma_penalty() == Approx(0.3 * (0.1 + 0.3 + 0.5) + 0.7 * (0.01 + 0.09 + 0.25)));
}

TEST_CASE("pruning sparsity grows with the threshold", "[focus]") {
  Rng rng(19);
  FocusOptions o = opts("l2", "spread");
  o.sigma_init = 0.05;
  FocusDense<float> f(100, 10, o, rng);
  double last = -1;
  for (double t : {0.0, 1e-7, 1e-3, 1e-1, 1.0}) {
    const double s = f.prune(t);
    CHECK(s >= last);
    last = s;
  }
  CHECK(last > 0.5);
}

TEST_CASE("focus layers refuse sizes whose product overflows, before allocating", "[focus]") {
  Rng rng(21);
  // 2^62 * 4 wraps to 0 in 64 bits; 2^32 * 2^32 too: the weights would be sized by the wrapped value.
  // std::length_error (core/limits.h), a ValueError in Python.
  CHECK_THROWS_AS(FocusDense2D<float>(int64_t(1) << 62, 4, 3, FocusOptions{}, rng), std::length_error);
  CHECK_THROWS_AS(FocusDense2D<float>(int64_t(1) << 32, int64_t(1) << 32, 3, FocusOptions{}, rng), std::length_error);
  CHECK_THROWS_AS(FocusDense<float>(int64_t(1) << 40, int64_t(1) << 40, FocusOptions{}, rng), std::length_error);
}

TEST_CASE("focus layers reject bad arguments and inputs", "[focus]") {
  Rng rng(20);
  auto bad = [&](FocusOptions o, const char* what) {
    CAPTURE(what);
    try {
      FocusDense<double> f(5, 3, o, rng);
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find(what) != std::string::npos);
    }
  };
  FocusOptions o;
  o.sigma_init = 0.0;
  bad(o, "sigma_init");
  o = {};
  o.sigma_init = 2.0;
  bad(o, "sigma_init");
  o = {};
  o.normalization = "max";
  bad(o, "normalization");
  o = {};
  o.mu_init = "values";
  o.mu_values = {0.1, 0.2, 1.5};
  bad(o, "mu_init");
  o.mu_values = {0.1};
  bad(o, "mu_init");
  o = {};
  o.spread_lo = -0.1;
  bad(o, "spread");
  o = {};
  o.sigma_min = 0.0;
  bad(o, "sigma_bounds");
  o = {};
  o.mu_min = 1.0;
  o.mu_max = 0.0;
  bad(o, "mu_bounds");
  o = {};
  o.init = "nope";
  bad(o, "init");
  CHECK_THROWS_AS(FocusDense<double>(0, 3), std::invalid_argument);
  CHECK_THROWS_AS(FocusDense<double>(3, 0), std::invalid_argument);
  CHECK_THROWS_AS(FocusDense2D<double>(0, 3, 2), std::invalid_argument);
  FocusDense<double> f(5, 3, {}, rng);
  Tensor<double> x(Shape{2, 4}, 0.0);
  CHECK_THROWS_AS(f.forward(x, true, rng), std::invalid_argument);
  FocusDense2D<double> f2(2, 3, 2, {}, rng);
  Tensor<double> x2(Shape{2, 2, 2, 3}, 0.0);
  CHECK_THROWS_AS(f2.forward(x2, true, rng), std::invalid_argument);
  CHECK_THROWS_AS(f.prune(-1.0), std::invalid_argument);
}

TEST_CASE("FocusDense backward twice after one forward: same input gradient, doubled parameter gradients", "[focus]") {
  Rng rng(21);
  FocusDense<double> f(10, 4, opts("l2", "spread"), rng);
  Tensor<double> x = random_tensor(Shape{3, 10}, rng), g = random_tensor(Shape{3, 4}, rng);
  f.forward(x, true, rng);
  const auto dx1 = to_vector(f.backward(g, true));
  const auto dmu1 = to_vector(f.mu().grad);
  const auto dw1 = to_vector(f.weight().grad);
  const auto dx2 = to_vector(f.backward(g, true));
  CHECK(dx2 == dx1);
  for (int j = 0; j < 4; ++j) CHECK(f.mu().grad[j] == Approx(2 * dmu1[static_cast<size_t>(j)]));
  for (size_t i = 0; i < dw1.size(); ++i) CHECK(f.weight().grad[static_cast<int64_t>(i)] == Approx(2 * dw1[i]));
  // effective_weight() after backward is K again.
  const Tensor<double>& k = f.effective_weight();
  const Tensor<double>& phi = f.focus();
  for (int64_t i = 0; i < k.size(); ++i) CHECK(k[i] == Approx(phi[i] * f.weight().value[i]));
}

TEST_CASE("narrow foci over several blocks: windowed products pass the gradient check", "[focus][gradcheck]") {
  // sigma 0.01 over 40 inputs: each neuron's window covers a fifth of the inputs, the 64-neuron
  // blocks about half, so forward and G^T X run block by block over the windows.
  const std::string norm = GENERATE(as<std::string>{}, "l2", "sum", "none");
  CAPTURE(norm);
  Rng rng(31);
  FocusOptions o = opts(norm, "spread");
  o.sigma_init = 0.01;
  FocusDense<double> f(40, 130, o, rng);
  for (int j = 0; j < 130; ++j) f.sigma().value[j] = 0.01 + 0.0001 * (j % 7);
  // The Gaussian bends on the scale of sigma: a step of 1e-5 would leave a truncation error of
  // (h / sigma)^2 ~ 1e-6 in the mu and sigma derivatives, so the step is smaller here.
  GradCheckOptions gc;
  gc.h = 1e-7;
  gc.atol = 1e-6;
  REQUIRE_GRADCHECK(gradcheck(f, random_tensor(Shape{2, 40}, rng), gc));
}

namespace {

// A direct evaluation of Eq. 6-9 without windows, blocks or truncation: phi from the full
// Gaussian, Y = X (Phi ∘ W)^T + b, and the gradients dX = G K, dW = (G^T X) ∘ Phi and, with
// P = (G^T X) ∘ W, A = sum P phi, q = phi (P - A phi / m) (Eq. 7) or phi (P - A / sqrt(m)) (sum),
// dmu = sum q (tau - mu) / sigma^2, dsigma = sum q (tau - mu)^2 / sigma^3.
struct NaiveFocus {
  std::vector<double> y, dx, dw, dmu, dsigma;
};

NaiveFocus naive_focus(FocusDense<double>& f, const Tensor<double>& x, const Tensor<double>& g,
                       const std::string& norm) {
  const int64_t n = x.dim(0), m = f.in_features(), out = f.out_features();
  NaiveFocus r;
  r.y.assign(static_cast<size_t>(n * out), 0.0);
  r.dx.assign(static_cast<size_t>(n * m), 0.0);
  r.dw.assign(static_cast<size_t>(out * m), 0.0);
  r.dmu.assign(static_cast<size_t>(out), 0.0);
  r.dsigma.assign(static_cast<size_t>(out), 0.0);
  const double* w = f.weight().value.data();
  const double* b = f.parameters()[1]->value.data();
  std::vector<double> phi(static_cast<size_t>(m)), gtx(static_cast<size_t>(m));
  for (int64_t j = 0; j < out; ++j) {
    const double mu = f.mu().value[j], s = f.sigma().value[j];
    double z = 0.0;
    for (int64_t i = 0; i < m; ++i) {
      const double d = static_cast<double>(i) / static_cast<double>(m - 1) - mu;
      phi[static_cast<size_t>(i)] = std::exp(-d * d / (2 * s * s));
      z += norm == "l2" ? phi[static_cast<size_t>(i)] * phi[static_cast<size_t>(i)] : phi[static_cast<size_t>(i)];
    }
    const double scale = norm == "l2" ? std::sqrt(static_cast<double>(m) / z) : std::sqrt(static_cast<double>(m)) / z;
    if (norm != "none")
      for (auto& v : phi) v *= scale;
    for (int64_t i = 0; i < m; ++i) {
      double acc = 0.0;
      for (int64_t k = 0; k < n; ++k) acc += g[k * out + j] * x[k * m + i];
      gtx[static_cast<size_t>(i)] = acc;
    }
    double a = 0.0;
    for (int64_t i = 0; i < m; ++i) a += gtx[static_cast<size_t>(i)] * w[j * m + i] * phi[static_cast<size_t>(i)];
    for (int64_t i = 0; i < m; ++i) {
      const double p = phi[static_cast<size_t>(i)], kji = p * w[j * m + i];
      for (int64_t k = 0; k < n; ++k) {
        r.y[static_cast<size_t>(k * out + j)] += x[k * m + i] * kji;
        r.dx[static_cast<size_t>(k * m + i)] += g[k * out + j] * kji;
      }
      r.dw[static_cast<size_t>(j * m + i)] = gtx[static_cast<size_t>(i)] * p;
      const double P = gtx[static_cast<size_t>(i)] * w[j * m + i];
      const double q = norm == "l2"    ? p * (P - a * p / static_cast<double>(m))
                       : norm == "sum" ? p * (P - a / std::sqrt(static_cast<double>(m)))
                                       : p * P;
      const double d = static_cast<double>(i) / static_cast<double>(m - 1) - mu;
      r.dmu[static_cast<size_t>(j)] += q * d / (s * s);
      r.dsigma[static_cast<size_t>(j)] += q * d * d / (s * s * s);
    }
    for (int64_t k = 0; k < n; ++k) r.y[static_cast<size_t>(k * out + j)] += b[j];
  }
  return r;
}

void check_close(const char* what, const std::vector<double>& ours, const std::vector<double>& ref) {
  double scale = 1e-300;
  for (double v : ref) scale = std::max(scale, std::abs(v));
  double worst = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(ours[i] - ref[i]));
  INFO(what << ": max |ours - reference| = " << worst << ", max |reference| = " << scale);
  CHECK(worst <= 1e-10 * scale);
}

}  // namespace

TEST_CASE("windowed and full products agree with a direct evaluation of Eq. 6-9", "[focus]") {
  // Narrow spread foci take the windowed path (block products over the windows, dX per block);
  // wide ones the full GEMMs. Both must equal the untruncated formulas; batch 96 x 200 neurons x
  // 96 inputs is large enough for the multi-threaded paths.
  // Shuffled centres put neighbouring windows in far-apart rows: the layer then sorts its rows
  // into blocks, and Y's and G's columns are permuted around the products.
  const std::string norm = GENERATE(as<std::string>{}, "l2", "sum", "none");
  const double sigma = GENERATE(0.01, 0.3);
  const bool shuffled = GENERATE(false, true);
  CAPTURE(norm, sigma, shuffled);
  Rng rng(32);
  FocusOptions o = opts(norm, "spread");
  o.sigma_init = sigma;
  o.spread_lo = 0.05, o.spread_hi = 0.95;
  if (shuffled) {
    o.mu_init = "values";
    for (int j = 0; j < 200; ++j) o.mu_values.push_back(0.05 + 0.9 * ((j * 73) % 200) / 199.0);
  }
  FocusDense<double> f(96, 200, o, rng);
  for (int j = 0; j < 200; ++j) f.sigma().value[j] = sigma * (1.0 + 0.05 * (j % 5));
  for (int j = 0; j < 200; ++j) f.parameters()[1]->value[j] = 0.01 * (j % 3);
  Tensor<double> x = random_tensor(Shape{96, 96}, rng), g = random_tensor(Shape{96, 200}, rng);
  const NaiveFocus ref = naive_focus(f, x, g, norm);
  f.forward(x, true, rng);  // the first pass sorts by the constructor's windows, later ones by the last pass's
  const auto y = to_vector(f.forward(x, true, rng));
  for (auto* p : f.parameters()) p->grad.zero();
  const auto dx = to_vector(f.backward(g, true));
  check_close("output", y, ref.y);
  check_close("d/dx", dx, ref.dx);
  check_close("d/dweight", to_vector(f.weight().grad), ref.dw);
  check_close("d/dmu", to_vector(f.mu().grad), ref.dmu);
  check_close("d/dsigma", to_vector(f.sigma().grad), ref.dsigma);
}

#ifdef BIONN_TEST_COUNTS_MALLOC
using bionn_test::mallocs_per_steps;

TEST_CASE("focusing layers allocate nothing in steady state", "[allocation]") {
  auto focus1d = [] {
    return std::vector<LayerPtr<float>>{std::make_shared<FocusDense<float>>(196, 64), std::make_shared<ReLU<float>>(),
                                        std::make_shared<Dense<float>>(64, 10)};
  };
  CHECK(mallocs_per_steps(focus1d, Shape{32, 196}, 10, 5) == 0);
  auto focus2d = [] {
    return std::vector<LayerPtr<float>>{std::make_shared<FocusDense2D<float>>(14, 14, 32),
                                        std::make_shared<Dense<float>>(32, 10)};
  };
  CHECK(mallocs_per_steps(focus2d, Shape{32, 196}, 10, 5) == 0);
  // Large enough for the multi-threaded block products, with shuffled narrow foci: the rows are
  // re-sorted every pass and Y's and G's columns permuted.
  auto shuffled = [] {
    FocusOptions o;
    o.mu_init = "values";
    for (int j = 0; j < 300; ++j) o.mu_values.push_back(((j * 37) % 300) / 299.0);
    o.sigma_init = 0.02;
    return std::vector<LayerPtr<float>>{std::make_shared<FocusDense<float>>(196, 300, o),
                                        std::make_shared<ReLU<float>>(), std::make_shared<FocusDense<float>>(300, 10)};
  };
  CHECK(mallocs_per_steps(shuffled, Shape{64, 196}, 10, 5) == 0);
}
#endif
