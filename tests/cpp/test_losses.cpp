// Losses: values on hand-computed cases, gradients by finite differences, numerical stability
// for extreme logits, and validation of labels/targets/shapes.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "core/losses.h"
#include "gradcheck.h"

using namespace bionn;
using namespace bionn_test;

TEST_CASE("CrossEntropy on hand-computed cases", "[losses][ce]") {
  CrossEntropyLoss<double> ce;
  CHECK(ce.kind() == "CrossEntropy");
  CHECK(ce.is_classification());
  Tensor<double> logits = make_tensor(Shape{2, 3}, {1, 2, 3, 0, 0, 0});
  Tensor<double> labels = make_tensor(Shape{2}, {2, 0});
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  // sample 0: lse - 3 = 0.40760596...; sample 1: log 3
  const double expected = ((lse0 - 3.0) + std::log(3.0)) / 2.0;
  CHECK(ce.forward(logits, labels) == Approx(expected).epsilon(1e-12));
  CHECK(lse0 - 3.0 == Approx(0.4076059644));
  const Tensor<double>& g = ce.backward();
  REQUIRE(g.shape() == logits.shape());
  // (softmax - onehot) / N
  for (int k = 0; k < 3; ++k) {
    const double p0 = std::exp(1.0 + k - lse0);
    CHECK(g[k] == Approx((p0 - (k == 2 ? 1.0 : 0.0)) / 2.0).epsilon(1e-12));
    CHECK(g[3 + k] == Approx((1.0 / 3.0 - (k == 0 ? 1.0 : 0.0)) / 2.0).epsilon(1e-12));
  }
}

TEST_CASE("CrossEntropy with label smoothing uses the smoothed target distribution", "[losses][ce]") {
  const double eps = 0.1;
  CrossEntropyLoss<double> ce(eps);
  Tensor<double> logits = make_tensor(Shape{1, 4}, {0.5, -1.0, 2.0, 0.0});
  Tensor<double> labels = make_tensor(Shape{1}, {1});
  double lse = 0;
  for (int k = 0; k < 4; ++k) lse += std::exp(logits[k]);
  lse = std::log(lse);
  double expected = 0;  // -sum_k q_k log p_k with q = (1 - eps) onehot + eps / C
  for (int k = 0; k < 4; ++k) {
    const double q = (k == 1 ? 1 - eps : 0.0) + eps / 4;
    expected -= q * (logits[k] - lse);
  }
  CHECK(ce.forward(logits, labels) == Approx(expected).epsilon(1e-12));
  REQUIRE_GRADCHECK(gradcheck_loss(ce, logits, labels));
}

TEST_CASE("CrossEntropy gradient matches finite differences", "[losses][ce][gradcheck]") {
  Rng rng(71);
  CrossEntropyLoss<double> ce;
  Tensor<double> logits = random_tensor(Shape{5, 4}, rng, -3, 3);
  Tensor<double> labels = make_tensor(Shape{5}, {0, 3, 1, 1, 2});
  REQUIRE_GRADCHECK(gradcheck_loss(ce, logits, labels));
}

TEST_CASE("CrossEntropy is stable for huge logits", "[losses][ce]") {
  CrossEntropyLoss<double> ce;
  Tensor<double> logits = make_tensor(Shape{3, 3}, {1000, 0, -1000, 1000, 1000, 0, -1000, -1000, -1000});
  Tensor<double> labels = make_tensor(Shape{3}, {1, 0, 2});
  // sample 0: 1000 - 0 = 1000; sample 1: log 2; sample 2: log 3
  const double v = ce.forward(logits, labels);
  CHECK(v == Approx((1000.0 + std::log(2.0) + std::log(3.0)) / 3.0).epsilon(1e-12));
  const Tensor<double>& g = ce.backward();
  for (int64_t i = 0; i < g.size(); ++i) REQUIRE(std::isfinite(g[i]));
  CHECK(g[0] == Approx(1.0 / 3.0));
  CHECK(g[1] == Approx(-1.0 / 3.0));
  CHECK(g[3] == Approx(-0.5 / 3.0));
  CHECK(g[4] == Approx(0.5 / 3.0));

  CrossEntropyLoss<float> cef;
  Tensor<float> lf = make_tensor<float>(Shape{1, 2}, {1000.0, -1000.0});
  Tensor<float> yf = make_tensor<float>(Shape{1}, {0});
  const double vf = cef.forward(lf, yf);
  CHECK(std::isfinite(vf));
  CHECK(vf == Approx(0.0).margin(1e-6));
  CHECK(std::isfinite(cef.backward()[0]));
}

TEST_CASE("CrossEntropy rejects bad labels, shapes and smoothing", "[losses][ce][errors]") {
  CrossEntropyLoss<double> ce;
  Tensor<double> logits(Shape{2, 3}, 0.0);
  const double bad[] = {-1.0, 3.0, 1.5, std::nan(""), 1e30, -1e30, INFINITY};
  for (double b : bad) {
    INFO("bad label " << b);
    Tensor<double> labels = make_tensor(Shape{2}, {0, b});
    CHECK_THROWS_AS(ce.forward(logits, labels), std::invalid_argument);
  }
  Tensor<double> ok = make_tensor(Shape{2}, {0, 2});
  CHECK_NOTHROW(ce.forward(logits, ok));
  Tensor<double> column(Shape{2, 1}, 0.0);
  CHECK_THROWS_AS(ce.forward(logits, column), std::invalid_argument);
  Tensor<double> wrong_n(Shape{3}, 0.0);
  CHECK_THROWS_AS(ce.forward(logits, wrong_n), std::invalid_argument);
  Tensor<double> flat(Shape{6}, 0.0);
  CHECK_THROWS_AS(ce.forward(flat, ok), std::invalid_argument);
  Tensor<double> no_classes(Shape{2, 0});
  CHECK_THROWS_AS(ce.forward(no_classes, ok), std::invalid_argument);
  CHECK_THROWS_AS(CrossEntropyLoss<double>(1.0), std::invalid_argument);
  CHECK_THROWS_AS(CrossEntropyLoss<double>(-0.1), std::invalid_argument);
}

TEST_CASE("MSE", "[losses][mse]") {
  MSELoss<double> mse;
  CHECK_FALSE(mse.is_classification());
  Tensor<double> pred = make_tensor(Shape{3, 1}, {1, 2, 3});
  Tensor<double> target = make_tensor(Shape{3, 1}, {0, 2, 5});
  CHECK(mse.forward(pred, target) == Approx(5.0 / 3.0).epsilon(1e-14));
  const Tensor<double>& g = mse.backward();
  CHECK(g[0] == Approx(2.0 / 3.0));
  CHECK(g[1] == 0.0);
  CHECK(g[2] == Approx(-4.0 / 3.0));
  Rng rng(72);
  REQUIRE_GRADCHECK(gradcheck_loss(mse, random_tensor(Shape{4, 3}, rng), random_tensor(Shape{4, 3}, rng)));
}

TEST_CASE("L1", "[losses][l1]") {
  L1Loss<double> l1;
  Tensor<double> pred = make_tensor(Shape{4}, {1, 2, 3, -1});
  Tensor<double> target = make_tensor(Shape{4}, {0, 2, 5, 1});
  CHECK(l1.forward(pred, target) == Approx((1 + 0 + 2 + 2) / 4.0).epsilon(1e-14));
  const Tensor<double>& g = l1.backward();
  CHECK(g[0] == 0.25);
  CHECK(g[1] == 0.0);  // sign(0) = 0
  CHECK(g[2] == -0.25);
  CHECK(g[3] == -0.25);
  // Away from the kink at pred == target.
  Rng rng(73);
  Tensor<double> t = random_tensor(Shape{3, 4}, rng);
  Tensor<double> offset = random_away_from_zero(Shape{3, 4}, rng, 0.1, 1.0);
  Tensor<double> p(Shape{3, 4});
  for (int64_t i = 0; i < p.size(); ++i) p[i] = t[i] + offset[i];
  REQUIRE_GRADCHECK(gradcheck_loss(l1, p, t));
}

TEST_CASE("BCEWithLogits", "[losses][bce]") {
  BCEWithLogitsLoss<double> bce;
  auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  Tensor<double> x = make_tensor(Shape{4}, {0.0, 2.0, -3.0, 0.5});
  Tensor<double> y = make_tensor(Shape{4}, {1.0, 0.0, 0.25, 1.0});
  const double expected = (std::log(2.0) + std::log(1.0 + std::exp(2.0)) -
                           (0.25 * std::log(sig(-3.0)) + 0.75 * std::log(1.0 - sig(-3.0))) - std::log(sig(0.5))) /
                          4.0;
  CHECK(bce.forward(x, y) == Approx(expected).epsilon(1e-12));
  const Tensor<double>& g = bce.backward();
  for (int i = 0; i < 4; ++i) CHECK(g[i] == Approx((sig(x[i]) - y[i]) / 4.0).epsilon(1e-12));
  Rng rng(74);
  REQUIRE_GRADCHECK(gradcheck_loss(bce, random_tensor(Shape{3, 2}, rng, -4, 4), random_tensor(Shape{3, 2}, rng, 0, 1)));
}

TEST_CASE("BCEWithLogits is stable for huge logits", "[losses][bce]") {
  BCEWithLogitsLoss<double> bce;
  Tensor<double> x = make_tensor(Shape{4}, {1000.0, -1000.0, 1000.0, -1000.0});
  Tensor<double> y = make_tensor(Shape{4}, {0.0, 1.0, 1.0, 0.0});
  CHECK(bce.forward(x, y) == Approx(2000.0 / 4.0).epsilon(1e-12));
  const Tensor<double>& g = bce.backward();
  CHECK(g[0] == Approx(0.25));
  CHECK(g[1] == Approx(-0.25));
  CHECK(g[2] == Approx(0.0).margin(1e-300));
  CHECK(g[3] == Approx(0.0).margin(1e-300));
}

TEST_CASE("Regression losses reject shape mismatches and bad targets", "[losses][errors]") {
  MSELoss<double> mse;
  L1Loss<double> l1;
  BCEWithLogitsLoss<double> bce;
  Tensor<double> a(Shape{3, 2}, 0.5), b(Shape{2, 3}, 0.5), c(Shape{6}, 0.5), empty;
  for (Loss<double>* loss : std::vector<Loss<double>*>{&mse, &l1, &bce}) {
    INFO(loss->kind());
    CHECK_THROWS_AS(loss->forward(a, b), std::invalid_argument);
    CHECK_THROWS_AS(loss->forward(a, c), std::invalid_argument);
    CHECK_THROWS_AS(loss->forward(empty, empty), std::invalid_argument);
    CHECK_NOTHROW(loss->forward(a, a));
  }
  Tensor<double> x(Shape{2}, 0.0);
  for (double t : {-0.5, 1.5, std::nan("")}) {
    INFO("target " << t);
    Tensor<double> y = make_tensor(Shape{2}, {0.0, t});
    CHECK_THROWS_AS(bce.forward(x, y), std::invalid_argument);
  }
}

TEST_CASE("LinearSquare: |e| + 1/(1+|e|) - 1 and its gradient", "[losses][linear_square]") {
  LinearSquareLoss<double> loss;
  Tensor<double> pred(Shape{4}), target(Shape{4});
  const double p[4] = {0.5, -1.0, 3.0, 2.0}, t[4] = {0.0, 1.0, 3.0, 2.001};
  for (int i = 0; i < 4; ++i) pred[i] = p[i], target[i] = t[i];
  double expect = 0.0;
  for (int i = 0; i < 4; ++i) {
    const double a = std::abs(p[i] - t[i]);
    expect += a + 1.0 / (1.0 + a) - 1.0;
  }
  CHECK(loss.forward(pred, target) == Approx(expect / 4).epsilon(1e-12));
  const auto& g = loss.backward();
  CHECK(g[0] == Approx((1.0 - 1.0 / (1.5 * 1.5)) / 4).epsilon(1e-12));
  CHECK(g[1] == Approx(-(1.0 - 1.0 / 9.0) / 4).epsilon(1e-12));
  CHECK(g[2] == 0.0);
  CHECK(g[3] == Approx(-(1.0 - 1.0 / (1.001 * 1.001)) / 4).epsilon(1e-9));
  // Quadratic near 0 (e^2 - |e|^3 + ...), computed without cancellation.
  pred[0] = 1e-9, target[0] = 0.0;
  Tensor<double> p1(Shape{1}), t1(Shape{1});
  p1[0] = 1e-9, t1[0] = 0.0;
  CHECK(loss.forward(p1, t1) == Approx(1e-18).epsilon(1e-6));
  CHECK(loss.backward()[0] == Approx(2e-9).epsilon(1e-6));
}
