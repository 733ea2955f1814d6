// Amplifying / attenuating neurons: the parametric softplus (Eq. 5) and SecondaryActivation (Eq. 3-4,
// Algorithm 1) against closed forms, finite-difference gradients (incl. large |x| and extreme b),
// overflow-free evaluation, argument validation, training in a Sequential without allocation.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "allocation.h"
#include "core/sequential.h"
#include "gradcheck.h"
#include "layers/amplifying.h"
#include "layers/dense.h"

using namespace bionn;
using namespace bionn_test;

namespace {

double psoftplus(double x, double a) { return a * x + (1 - a) * std::log1p(std::exp(x)); }

Tensor<double> row(std::initializer_list<double> v) {
  Tensor<double> t(Shape{1, static_cast<int64_t>(v.size())});
  int64_t i = 0;
  for (double x : v) t[i++] = x;
  return t;
}

}  // namespace

TEST_CASE("ParametricSoftplus matches Eq. 5 and its gradient", "[amplifying]") {
  const double a = GENERATE(0.3, 0.0, 1.0, -0.5);
  CAPTURE(a);
  auto layer = make_parametric_softplus<double>(a);
  CHECK(layer->kind() == "ParametricSoftplus");
  Rng rng;
  Tensor<double> x = row({-20.0, -3.0, -0.5, 0.0, 0.7, 4.0, 30.0});
  const Tensor<double>& y = layer->forward(x, true, rng);
  for (int64_t i = 0; i < x.size(); ++i) CHECK(y[i] == Approx(psoftplus(x[i], a)).epsilon(1e-12).margin(1e-300));
  Rng r(3);
  REQUIRE_GRADCHECK(gradcheck(*layer, random_tensor(Shape{4, 5}, r, -6.0, 6.0)));
  // Large |x|: the finite-difference derivative there is a + (1 - a) * {0, 1}.
  REQUIRE_GRADCHECK(gradcheck(*layer, row({-60.0, -35.0, 35.0, 60.0})));
}

TEST_CASE("ParametricSoftplus is finite and asymptotically linear for huge |x|", "[amplifying]") {
  for (int dtype = 0; dtype < 2; ++dtype) {
    Rng rng;
    if (dtype == 0) {
      auto layer = make_parametric_softplus<float>(0.3);
      Tensor<float> x(Shape{1, 4});
      x[0] = -1e30f, x[1] = -200.f, x[2] = 200.f, x[3] = 1e30f;
      const Tensor<float>& y = layer->forward(x, true, rng);
      CHECK(y[0] == Approx(0.3f * -1e30f));
      CHECK(y[1] == Approx(0.3f * -200.f));
      CHECK(y[2] == Approx(200.f));
      CHECK(y[3] == Approx(1e30f));
      Tensor<float> g(Shape{1, 4}, 1.0f);
      const Tensor<float>& dx = layer->backward(g);
      CHECK(dx[0] == Approx(0.3f));
      CHECK(dx[3] == Approx(1.0f));
    } else {
      auto layer = make_parametric_softplus<double>(0.3);
      Tensor<double> x = row({-1e300, -800.0, 800.0, 1e300});
      const Tensor<double>& y = layer->forward(x, true, rng);
      for (int64_t i = 0; i < 4; ++i) REQUIRE(std::isfinite(y[i]));
      CHECK(y[1] == Approx(-240.0));
      CHECK(y[2] == Approx(800.0));
    }
  }
}

TEST_CASE("ParametricSoftplus rejects a non-finite a", "[amplifying]") {
  CHECK_THROWS_AS(make_parametric_softplus<double>(std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS(make_parametric_softplus<float>(1e300), std::invalid_argument);
}

TEST_CASE("SecondaryActivation applies Eq. 3-4 per neuron", "[amplifying]") {
  SecondaryOptions o;  // parametric softplus, a = 0.3, b = 1
  SecondaryActivation<double> act(5, {3, 4}, {1}, o);
  CHECK(act.amplifying() == std::vector<int64_t>{3, 4});
  CHECK(act.attenuating() == std::vector<int64_t>{1});
  Rng rng;
  Tensor<double> x = row({-1.5, 0.4, 2.0, -0.3, 1.1});
  const Tensor<double>& y = act.forward(x, true, rng);
  auto h = [](double v) { return psoftplus(v, 0.3); };
  CHECK(y[0] == Approx(h(-1.5)).epsilon(1e-13));
  CHECK(y[1] == Approx(h(0.4) / (h(0.4) * h(0.4) + 1.0)).epsilon(1e-13));
  CHECK(y[2] == Approx(h(2.0)).epsilon(1e-13));
  CHECK(y[3] == Approx(h(-0.3) * h(-0.3)).epsilon(1e-13));
  CHECK(y[4] == Approx(h(1.1) * h(1.1)).epsilon(1e-13));
}

TEST_CASE("SecondaryActivation gradients match finite differences", "[amplifying][gradcheck]") {
  const std::string act_name =
      GENERATE(as<std::string>{}, "parametric_softplus", "identity", "softplus", "tanh", "sigmoid", "relu");
  const double b = GENERATE(1.0, 0.05, 20.0);
  CAPTURE(act_name, b);
  SecondaryOptions o;
  o.activation = act_name;
  o.b = b;
  SecondaryActivation<double> act(6, {0, 5}, {2, 3}, o);
  Rng rng(21);
  // Away from ReLU's kink at 0.
  REQUIRE_GRADCHECK(gradcheck(act, random_away_from_zero(Shape{7, 6}, rng, 0.05, 4.0)));
}

TEST_CASE("SecondaryActivation gradients at large |h| and extreme b", "[amplifying][gradcheck]") {
  SECTION("identity primary: attenuating at |h| up to 1e6 (the r = 1/u branch)") {
    SecondaryOptions o;
    o.activation = "identity";
    SecondaryActivation<double> act(4, {}, {0, 1, 2, 3}, o);
    Tensor<double> x(Shape{2, 4});
    const double v[] = {1e3, 3.0, -50.0, 0.2, -1e3, -3.0, 50.0, -0.7};
    for (int i = 0; i < 8; ++i) x[i] = v[i];
    GradCheckOptions g;
    g.h = 1e-4;
    g.rtol = 1e-5;
    g.atol = 1e-14;
    REQUIRE_GRADCHECK(gradcheck(act, x, g));
    // At |h| ~ 1e6, G' ~ -1e-12: a step relative to h keeps the difference above rounding.
    g.h = 1.0;
    g.atol = 1e-20;
    REQUIRE_GRADCHECK(gradcheck(act, row({1e6, -1e6, 2e5, -4e5}), g));
  }
  SECTION("identity primary: amplifying at |h| = 1e3 and 1e6") {
    SecondaryOptions o;
    o.activation = "identity";
    SecondaryActivation<double> act(1, {0}, {}, o);
    GradCheckOptions g;
    g.h = 1e-2;  // outputs ~1e6 and ~1e12: steps relative to x keep the difference above rounding
    g.rtol = 1e-6;
    REQUIRE_GRADCHECK(gradcheck(act, row({1e3}), g));
    g.h = 1.0;
    REQUIRE_GRADCHECK(gradcheck(act, row({-1e6}), g));
  }
  SECTION("parametric softplus primary at |x| = 40 (H saturates to a line)") {
    SecondaryActivation<double> act(3, {0}, {1}, SecondaryOptions{});
    REQUIRE_GRADCHECK(gradcheck(act, row({40.0, 40.0, -40.0})));
    REQUIRE_GRADCHECK(gradcheck(act, row({-40.0, -40.0, 40.0})));
  }
  SECTION("b near the representable limits") {
    for (double b : {1e-6, 1e6}) {
      CAPTURE(b);
      SecondaryOptions o;
      o.activation = "identity";
      o.b = b;
      SecondaryActivation<double> act(3, {}, {0, 1, 2}, o);
      const double s = std::sqrt(b);  // probe both branches |h| <= sqrt(b) and |h| > sqrt(b)
      GradCheckOptions g;
      g.h = 1e-4 * s;
      g.rtol = 1e-5;
      g.atol = 1e-10 / b;
      REQUIRE_GRADCHECK(gradcheck(act, row({0.3 * s, -2.0 * s, 7.0 * s}), g));
    }
  }
}

TEST_CASE("SecondaryActivation never overflows the attenuating neuron", "[amplifying]") {
  for (double b : {1.0, 1e-300, 1e300}) {
    CAPTURE(b);
    SecondaryOptions o;
    o.activation = "identity";
    o.b = b;
    SecondaryActivation<double> act(4, {}, {0, 1, 2, 3}, o);
    Rng rng;
    Tensor<double> x = row({0.0, 1e200, -1e300, std::numeric_limits<double>::max()});
    const Tensor<double>& y = act.forward(x, true, rng);
    Tensor<double> g(Shape{1, 4}, 1.0);
    const Tensor<double>& dx = act.backward(g);
    for (int i = 0; i < 4; ++i) {
      CHECK(std::isfinite(y[i]));
      CHECK(std::isfinite(dx[i]));
      CHECK(std::abs(y[i]) <= 0.5 / std::sqrt(b) * (1 + 1e-12));  // |G| <= 1 / (2 sqrt(b))
    }
    CHECK(y[0] == 0.0);
    CHECK(dx[0] == Approx(1.0 / b));  // G'(0) = 1 / b
  }
}

TEST_CASE("SecondaryActivation matches Algorithm 1's derivative update", "[amplifying]") {
  // Algorithm 1 literally: F' <- F' * 2y; F' <- F' * (b - y^2) / (y^2 + b)^2.
  SecondaryOptions o;
  o.b = 2.5;
  SecondaryActivation<double> act(3, {0}, {1}, o);
  Rng rng;
  Tensor<double> x = row({0.8, -0.6, 1.9});
  act.forward(x, true, rng);
  Tensor<double> g(Shape{1, 3}, 1.0);
  const Tensor<double>& dx = act.backward(g);
  auto dh = [](double v) { return 0.3 + 0.7 / (1 + std::exp(-v)); };
  const double y0 = psoftplus(0.8, 0.3), y1 = psoftplus(-0.6, 0.3);
  CHECK(dx[0] == Approx(dh(0.8) * 2 * y0).epsilon(1e-12));
  CHECK(dx[1] == Approx(dh(-0.6) * (2.5 - y1 * y1) / std::pow(y1 * y1 + 2.5, 2)).epsilon(1e-12));
  CHECK(dx[2] == Approx(dh(1.9)).epsilon(1e-12));
}

TEST_CASE("SecondaryActivation validates its arguments", "[amplifying]") {
  SecondaryOptions o;
  CHECK_THROWS_AS(SecondaryActivation<double>(0, {}, {}, o), std::invalid_argument);
  CHECK_THROWS_AS(SecondaryActivation<double>(4, {4}, {}, o), std::invalid_argument);
  CHECK_THROWS_AS(SecondaryActivation<double>(4, {-1}, {}, o), std::invalid_argument);
  CHECK_THROWS_AS(SecondaryActivation<double>(4, {1, 1}, {}, o), std::invalid_argument);
  CHECK_THROWS_AS(SecondaryActivation<double>(4, {1}, {1}, o), std::invalid_argument);
  for (double b : {0.0, -1.0, std::nan(""), double(INFINITY)}) {
    SecondaryOptions ob;
    ob.b = b;
    CHECK_THROWS_AS(SecondaryActivation<double>(4, {}, {0}, ob), std::invalid_argument);
  }
  SecondaryOptions tiny;
  tiny.b = 1e-300;  // 1/b overflows float
  CHECK_THROWS_AS(SecondaryActivation<float>(4, {}, {0}, tiny), std::invalid_argument);
  CHECK_NOTHROW(SecondaryActivation<double>(4, {}, {0}, tiny));
  SecondaryOptions bad;
  bad.activation = "swish";
  CHECK_THROWS_WITH(SecondaryActivation<double>(4, {}, {}, bad), Catch::Contains("unknown primary activation"));
  SecondaryActivation<double> act(4, {0}, {}, o);
  Rng rng;
  Tensor<double> wrong(Shape{2, 5}, 0.0), flat(Shape{4}, 0.0);
  CHECK_THROWS_WITH(act.forward(wrong, true, rng), Catch::Contains("expected 4"));
  CHECK_THROWS_AS(act.forward(flat, true, rng), std::invalid_argument);
  Tensor<double> g(Shape{1, 4}, 1.0);
  SecondaryActivation<double> fresh(4, {0}, {}, o);
  CHECK_THROWS_AS(fresh.backward(g), std::logic_error);
}

TEST_CASE("a batch-size-1 network with special neurons trains in Sequential", "[amplifying]") {
  // Network 5 shape (1 -> 5 x [10: 4 amplifying, 1 attenuating] -> 1) on y = x^2 - 0.5.
  std::vector<LayerPtr<double>> layers;
  int64_t in = 1;
  for (int i = 0; i < 5; ++i) {
    layers.push_back(std::make_shared<Dense<double>>(in, 10));
    layers.push_back(std::make_shared<SecondaryActivation<double>>(10, std::vector<int64_t>{6, 7, 8, 9},
                                                                   std::vector<int64_t>{5}, SecondaryOptions{}));
    in = 10;
  }
  layers.push_back(std::make_shared<Dense<double>>(10, 1));
  Sequential<double> model(layers, 5);
  model.reset_parameters();
  Tensor<double> x(Shape{32, 1}), y(Shape{32, 1});
  for (int i = 0; i < 32; ++i) {
    x[i] = -1.0 + 2.0 * i / 31.0;
    y[i] = x[i] * x[i] - 0.5;
  }
  MSELoss<double> loss;
  ParamGroup<double> group;
  group.params = model.parameters();
  group.options.lr = 3e-3;
  group.options.weight_decay = 1e-4;
  group.options.decoupled_weight_decay = true;
  Adam<double> opt({group});
  DataView<double> xv{x.data(), x.shape()}, yv{y.data(), y.shape()};
  const double before = model.evaluate(xv, yv, loss, 32)["loss"];
  FitOptions fo;
  fo.epochs = 60;
  fo.batch_size = 1;
  model.fit(xv, yv, loss, opt, fo);
  const double after = model.evaluate(xv, yv, loss, 32)["loss"];
  CHECK(std::isfinite(after));
  CHECK(after < 0.1 * before);
}

#ifdef BIONN_TEST_COUNTS_MALLOC
using bionn_test::mallocs_per_steps;

TEST_CASE("amplifying/attenuating layers allocate nothing in steady state", "[allocation]") {
  auto layers = [] {
    const std::vector<int64_t> amp{6, 7, 8, 9}, att{5};
    return std::vector<LayerPtr<float>>{std::make_shared<Dense<float>>(4, 10),
                                        std::make_shared<SecondaryActivation<float>>(10, amp, att),
                                        std::make_shared<Dense<float>>(10, 10), make_parametric_softplus<float>(0.3),
                                        std::make_shared<Dense<float>>(10, 3)};
  };
  CHECK(mallocs_per_steps(layers, Shape{1, 4}, 3, 20) == 0);  // the paper's batch size 1
  CHECK(mallocs_per_steps(layers, Shape{16, 4}, 3, 5) == 0);
}
#endif

TEST_CASE("SecondaryActivation: linear neurons and switching the secondary activations on mid-training",
          "[amplifying]") {
  SecondaryOptions o;
  o.linear = {0};
  SecondaryActivation<double> act(4, {3}, {2}, o);
  CHECK(act.linear() == std::vector<int64_t>{0});
  Rng rng;
  Tensor<double> x = row({-1.5, 0.4, 2.0, -0.3});
  auto h = [](double v) { return psoftplus(v, 0.3); };
  SECTION("off: special neurons compute H only; the linear neuron passes its input through") {
    act.set_secondary_enabled(false);
    CHECK_FALSE(act.secondary_enabled());
    const Tensor<double>& y = act.forward(x, true, rng);
    CHECK(y[0] == -1.5);
    CHECK(y[1] == Approx(h(0.4)).epsilon(1e-13));
    CHECK(y[2] == Approx(h(2.0)).epsilon(1e-13));
    CHECK(y[3] == Approx(h(-0.3)).epsilon(1e-13));
    Tensor<double> go = row({1.0, 1.0, 1.0, 1.0});
    const Tensor<double>& gi = act.backward(go);
    CHECK(gi[0] == 1.0);
    CHECK(gi[2] == Approx(0.3 + 0.7 / (1.0 + std::exp(-2.0))).epsilon(1e-13));
  }
  SECTION("on again: Eq. 3-4, the linear neuron unchanged") {
    act.set_secondary_enabled(false);
    act.set_secondary_enabled(true);
    const Tensor<double>& y = act.forward(x, true, rng);
    CHECK(y[0] == -1.5);
    CHECK(y[2] == Approx(h(2.0) / (h(2.0) * h(2.0) + 1.0)).epsilon(1e-13));
    CHECK(y[3] == Approx(h(-0.3) * h(-0.3)).epsilon(1e-13));
  }
  SECTION("gradients with a linear neuron match finite differences") {
    Rng r(5);
    REQUIRE_GRADCHECK(gradcheck(act, random_away_from_zero(Shape{3, 4}, r, 0.05, 3.0)));
  }
  SECTION("a neuron may not be linear and special") {
    SecondaryOptions bad;
    bad.linear = {3};
    CHECK_THROWS_AS(SecondaryActivation<double>(4, {3}, {}, bad), std::invalid_argument);
  }
}
