// NegLU family: hand-computed values, numerical stability of the smooth NegLU, MixLU unit
// assignment (fixed / explicit / per-element random, exact and reference-code gradients),
// Min-Maxout ties, learned slopes; finite-difference gradient checks in double; argument errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "allocation.h"
#include "core/sequential.h"
#include "gradcheck.h"
#include "layers/dense.h"
#include "layers/neglu.h"

using namespace bionn;
using namespace bionn_test;

namespace {

UnitSelection frac(double f, int64_t seed = -1) {
  UnitSelection s;
  s.fraction = f;
  s.seed = seed;
  return s;
}

UnitSelection units(std::vector<int64_t> u) {
  UnitSelection s;
  s.units = std::move(u);
  s.is_explicit = true;
  return s;
}

}  // namespace

TEST_CASE("NegLU is min(0, x) with derivative [x < 0]", "[neglu]") {
  NegLU<double> f;
  Rng rng;
  Tensor<double> x = make_tensor(Shape{1, 5}, {-2, -0.5, 0, 0.5, 3});
  const Tensor<double>& y = f.forward(x, true, rng);
  const double want[] = {-2, -0.5, 0, 0, 0};
  for (int i = 0; i < 5; ++i) CHECK(y[i] == want[i]);
  Tensor<double> g(Shape{1, 5}, 2.0);
  const Tensor<double>& dx = f.backward(g);
  const double dwant[] = {2, 2, 0, 0, 0};
  for (int i = 0; i < 5; ++i) CHECK(dx[i] == dwant[i]);
  REQUIRE_GRADCHECK(gradcheck(f, random_away_from_zero(Shape{4, 3, 2, 2}, rng, 0.05, 2.0)));
}

TEST_CASE("SmoothNegLU matches -ln(1 + e^-x) and stays finite and accurate at the extremes", "[neglu]") {
  SmoothNegLU<double> f;
  Rng rng;
  Tensor<double> x = make_tensor(Shape{1, 6}, {-800, -30, -1, 0, 2, 800});
  const Tensor<double>& y = f.forward(x, true, rng);
  CHECK(y[0] == Approx(-800));
  CHECK(y[1] == Approx(-30 - std::log1p(std::exp(-30.0))));
  CHECK(y[2] == Approx(-std::log(1 + std::exp(1.0))));
  CHECK(y[3] == Approx(-std::log(2.0)));
  CHECK(y[4] == Approx(-std::log1p(std::exp(-2.0))));
  CHECK(y[5] == 0.0);  // -e^-800 underflows to -0
  Tensor<double> g(Shape{1, 6}, 1.0);
  const Tensor<double>& dx = f.backward(g);
  CHECK(dx[0] == Approx(1.0));
  CHECK(dx[3] == Approx(0.5));
  CHECK(dx[4] == Approx(1.0 / (std::exp(2.0) + 1)));
  CHECK(dx[5] == 0.0);
  for (int i = 0; i < 6; ++i) CHECK(std::isfinite(dx[i]));
  // Relative accuracy of the tiny values at large x: N(40) = -e^-40 (1 - e^-40 / 2 ...).
  Tensor<double> big = make_tensor(Shape{1, 1}, {40});
  CHECK(f.forward(big, true, rng)[0] == Approx(-std::exp(-40.0)).epsilon(1e-12));
  Tensor<double> g1(Shape{1, 1}, 1.0);
  CHECK(f.backward(g1)[0] == Approx(std::exp(-40.0)).epsilon(1e-12));
  REQUIRE_GRADCHECK(gradcheck(f, random_tensor(Shape{3, 7}, rng, -6, 6)));
}

TEST_CASE("MixLU: a fixed fraction of units are NegLUs, the rest ReLUs", "[neglu][mixlu]") {
  Rng rng(5);
  MixLU<double> m({10}, frac(0.3), MixLUMode::Fixed, MixLUGrad::Exact, rng);
  int64_t neg = 0;
  for (int64_t u = 0; u < 10; ++u) neg += m.mask()[u] != 0;
  CHECK(neg == 3);
  Tensor<double> x = random_away_from_zero(Shape{4, 10}, rng, 0.1, 1.0);
  const Tensor<double>& y = m.forward(x, true, rng);
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t u = 0; u < 10; ++u) {
      const double v = x[b * 10 + u];
      CHECK(y[b * 10 + u] == (m.mask()[u] != 0 ? std::min(v, 0.0) : std::max(v, 0.0)));
    }
  // The same engine state gives the same mask; the mask is the saved buffer.
  Rng again(5);
  MixLU<double> m2({10}, frac(0.3), MixLUMode::Fixed, MixLUGrad::Exact, again);
  for (int64_t u = 0; u < 10; ++u) CHECK(m2.mask()[u] == m.mask()[u]);
  REQUIRE(m.buffers().size() == 1);
  CHECK(m.buffers()[0].first == "neglu_mask");
  REQUIRE_GRADCHECK(gradcheck(m, x));
}

TEST_CASE("MixLU: fraction rounding, explicit units and the layer's own seed", "[neglu][mixlu]") {
  CHECK(selected_count(0.0, 500) == 0);
  CHECK(selected_count(0.01, 500) == 5);
  CHECK(selected_count(0.07, 500) == 35);
  CHECK(selected_count(1.0, 500) == 500);
  CHECK(selected_count(0.5, 3) == 2);  // 1.5 rounds up
  Rng a(1), b(2);
  MixLU<double> e({6}, units({1, 4}), MixLUMode::Fixed, MixLUGrad::Exact, a);
  const double want[] = {0, 1, 0, 0, 1, 0};
  for (int u = 0; u < 6; ++u) CHECK(e.mask()[u] == want[u]);
  e.reset_parameters(b);  // explicit units survive a reset
  for (int u = 0; u < 6; ++u) CHECK(e.mask()[u] == want[u]);
  MixLU<double> s1({50}, frac(0.2, 9), MixLUMode::Fixed, MixLUGrad::Exact, a);
  MixLU<double> s2({50}, frac(0.2, 9), MixLUMode::Fixed, MixLUGrad::Exact, b);
  s2.reset_parameters(a);
  for (int u = 0; u < 50; ++u) CHECK(s1.mask()[u] == s2.mask()[u]);
}

TEST_CASE("MixLU per channel on (N, C, H, W) and per element with a full unit shape", "[neglu][mixlu][gradcheck]") {
  Rng rng(7);
  MixLU<double> per_channel({3}, units({1}), MixLUMode::Fixed, MixLUGrad::Exact, rng);
  Tensor<double> x = random_away_from_zero(Shape{2, 3, 2, 2}, rng, 0.05, 1.0);
  const Tensor<double>& y = per_channel.forward(x, true, rng);
  for (int64_t i = 0; i < x.size(); ++i) {
    const bool neg = (i / 4) % 3 == 1;
    CHECK(y[i] == (neg ? std::min(x[i], 0.0) : std::max(x[i], 0.0)));
  }
  REQUIRE_GRADCHECK(gradcheck(per_channel, x));
  MixLU<double> per_elem({3, 2, 2}, frac(0.5), MixLUMode::Fixed, MixLUGrad::Exact, rng);
  REQUIRE_GRADCHECK(gradcheck(per_elem, x));
  Tensor<double> wrong = random_tensor(Shape{2, 3, 3, 2}, rng);
  CHECK_THROWS_WITH(per_elem.forward(wrong, true, rng), Catch::Contains("differs from num_units"));
  Tensor<double> wrong_c = random_tensor(Shape{2, 4}, rng);
  CHECK_THROWS_WITH(per_channel.forward(wrong_c, true, rng), Catch::Contains("4 channels/features"));
}

TEST_CASE("MixLU random mode: a new per-element mask each forward with an exact NegLU count", "[neglu][mixlu]") {
  Rng rng(3);
  MixLU<double> m({4}, frac(0.25), MixLUMode::RandomPerElement, MixLUGrad::Exact, rng);
  CHECK(m.buffers().empty());
  Tensor<double> x(Shape{10, 4}, -1.0);  // every NegLU element outputs -1, every ReLU element 0
  auto count = [&]() {
    const Tensor<double>& y = m.forward(x, true, rng);
    int64_t k = 0;
    for (int64_t i = 0; i < y.size(); ++i) k += y[i] == -1.0;
    return k;
  };
  std::vector<double> first(static_cast<size_t>(x.size()));
  CHECK(count() == 10);
  for (int64_t i = 0; i < x.size(); ++i) first[static_cast<size_t>(i)] = m.forward(x, true, rng)[i];
  bool changed = false;
  for (int r = 0; r < 5 && !changed; ++r) {
    const Tensor<double>& y = m.forward(x, true, rng);
    for (int64_t i = 0; i < x.size(); ++i) changed |= y[i] != first[static_cast<size_t>(i)];
  }
  CHECK(changed);
  // With the engine reseeded before every forward the mask is fixed: the gradient check applies.
  GradCheckOptions o;
  REQUIRE_GRADCHECK(gradcheck(m, random_away_from_zero(Shape{5, 4}, rng, 0.05, 1.0), o));
}

TEST_CASE("MixLU relu_mask gradient reproduces the reference code's backward", "[neglu][mixlu]") {
  Rng rng;
  MixLU<double> m({2}, units({1}), MixLUMode::Fixed, MixLUGrad::ReluMask, rng);
  Tensor<double> x = make_tensor(Shape{2, 2}, {-1, -1, 2, 2});
  m.forward(x, true, rng);
  Tensor<double> g(Shape{2, 2}, 1.0);
  const Tensor<double>& dx = m.backward(g);
  // Unit 1 is a NegLU: the code passes its gradient where x > 0 (not where x < 0).
  CHECK(dx[0] == 0);
  CHECK(dx[1] == 0);
  CHECK(dx[2] == 1);
  CHECK(dx[3] == 1);
}

TEST_CASE("MixLU argument errors", "[neglu][mixlu]") {
  Rng rng;
  CHECK_THROWS_WITH((MixLU<double>({4}, frac(1.5))), Catch::Contains("fraction must be in [0, 1]"));
  CHECK_THROWS_WITH((MixLU<double>({4}, frac(-0.1))), Catch::Contains("fraction must be in [0, 1]"));
  CHECK_THROWS_WITH((MixLU<double>({4}, frac(std::nan("")))), Catch::Contains("fraction"));
  CHECK_THROWS_WITH((MixLU<double>({0}, frac(0.1))), Catch::Contains("num_units must be positive"));
  CHECK_THROWS_WITH((MixLU<double>({}, frac(0.1))), Catch::Contains("num_units"));
  CHECK_THROWS_WITH((MixLU<double>({4}, units({4}))), Catch::Contains("out of range"));
  CHECK_THROWS_WITH((MixLU<double>({4}, units({1, 1}))), Catch::Contains("twice"));
  CHECK_THROWS_WITH((MixLU<double>({4}, units({1}), MixLUMode::RandomPerElement)), Catch::Contains("random"));
  CHECK_THROWS_WITH(parse_mixlu_mode("sometimes"), Catch::Contains("mode"));
  CHECK_THROWS_WITH(parse_mixlu_grad("approx"), Catch::Contains("neglu_grad"));
  MixLU<double> m({4}, frac(0.5));
  Tensor<double> g(Shape{1, 4}, 1.0);
  CHECK_THROWS_WITH(m.backward(g), Catch::Contains("forward first"));
  Tensor<double> flat(Shape{4});
  CHECK_THROWS_WITH(m.forward(flat, true, rng), Catch::Contains("(N, C)"));
}

TEST_CASE("MinMaxout: max and min units, tie rule, gradients", "[neglu][minmaxout][gradcheck]") {
  Rng rng(4);
  MinMaxout<double> mm(2, 3, units({1}), rng);
  Tensor<double> x = make_tensor(Shape{1, 6}, {1, 5, 2, /* min unit: */ 4, -1, 7});
  const Tensor<double>& y = mm.forward(x, true, rng);
  REQUIRE(y.shape() == Shape{1, 2});
  CHECK(y[0] == 5);
  CHECK(y[1] == -1);
  Tensor<double> g = make_tensor(Shape{1, 2}, {10, 20});
  const Tensor<double>& dx = mm.backward(g);
  const double dwant[] = {0, 10, 0, 0, 20, 0};
  for (int i = 0; i < 6; ++i) CHECK(dx[i] == dwant[i]);

  // Ties: the first piece attaining the extreme takes all the gradient (as torch.max(dim)).
  Tensor<double> tie = make_tensor(Shape{1, 6}, {3, 3, 1, 0, 0, 2});
  const Tensor<double>& yt = mm.forward(tie, true, rng);
  CHECK(yt[0] == 3);
  CHECK(yt[1] == 0);
  const Tensor<double>& dt = mm.backward(g);
  const double twant[] = {10, 0, 0, 20, 0, 0};
  for (int i = 0; i < 6; ++i) CHECK(dt[i] == twant[i]);

  // Spatial inputs: (N, U * K, H, W) -> (N, U, H, W); distinct values keep the winners stable.
  MinMaxout<double> conv(3, 2, frac(0.34), rng);
  REQUIRE_GRADCHECK(gradcheck(conv, distinct_tensor(Shape{2, 6, 2, 3}, rng)));
  REQUIRE_GRADCHECK(gradcheck(mm, distinct_tensor(Shape{4, 6}, rng)));
  MinMaxout<double> one(3, 1, frac(0.5), rng);  // one piece: the identity
  Tensor<double> z = random_tensor(Shape{2, 3}, rng);
  const Tensor<double>& yz = one.forward(z, true, rng);
  for (int i = 0; i < 6; ++i) CHECK(yz[i] == z[i]);
}

TEST_CASE("MinMaxout argument errors", "[neglu][minmaxout]") {
  Rng rng;
  CHECK_THROWS_WITH((MinMaxout<double>(2, 0, frac(0.5))), Catch::Contains("pieces must be >= 1"));
  CHECK_THROWS_WITH((MinMaxout<double>(0, 2, frac(0.5))), Catch::Contains("num_units must be positive"));
  CHECK_THROWS_WITH((MinMaxout<double>(2, 2, frac(2.0))), Catch::Contains("min_fraction must be in [0, 1]"));
  MinMaxout<double> mm(2, 2, frac(0.5));
  Tensor<double> x(Shape{3, 5});
  CHECK_THROWS_WITH(mm.forward(x, true, rng), Catch::Contains("num_units * pieces = 4"));
}

TEST_CASE("LearnedActivation: slopes interpolate ReLU, NegLU and identity; gradients", "[neglu][learned][gradcheck]") {
  Rng rng(8);
  LearnedActivation<double> act(3, 1.0, 0.0);
  REQUIRE(act.parameters().size() == 2);
  CHECK(act.parameters()[0]->tag == "slope");
  CHECK(act.parameters()[1]->tag == "slope");
  act.positive_slope().value[1] = 0.0;
  act.negative_slope().value[1] = 1.0;  // unit 1: NegLU
  act.negative_slope().value[2] = 1.0;  // unit 2: identity
  Tensor<double> x = make_tensor(Shape{2, 3}, {-1, -2, -3, 4, 5, 6});
  const Tensor<double>& y = act.forward(x, true, rng);
  const double want[] = {0, -2, -3, 4, 0, 6};
  for (int i = 0; i < 6; ++i) CHECK(y[i] == want[i]);
  for (int i = 0; i < 3; ++i) {
    act.positive_slope().value[i] = 0.3 + 0.4 * i;
    act.negative_slope().value[i] = -0.5 + 0.6 * i;
  }
  REQUIRE_GRADCHECK(gradcheck(act, random_away_from_zero(Shape{4, 3}, rng, 0.05, 2.0)));
  REQUIRE_GRADCHECK(gradcheck(act, random_away_from_zero(Shape{2, 3, 2, 2}, rng, 0.05, 2.0)));
  // Large spatial extent takes the parallel path of the slope gradients.
  LearnedActivation<double> wide(2, 0.7, -0.2);
  REQUIRE_GRADCHECK(gradcheck(wide, random_away_from_zero(Shape{3, 2, 10, 10}, rng, 0.05, 2.0)));
  CHECK_THROWS_WITH((LearnedActivation<double>(0, 1, 0)), Catch::Contains("num_units must be positive"));
  CHECK_THROWS_WITH((LearnedActivation<float>(2, 1e300, 0)), Catch::Contains("finite"));
  Tensor<double> bad(Shape{2, 4});
  CHECK_THROWS_WITH(act.forward(bad, true, rng), Catch::Contains("4 channels/features"));
}

TEST_CASE("The model's seed fixes a MixLU mask", "[neglu][mixlu][sequential]") {
  auto make = [] {
    return std::vector<LayerPtr<double>>{std::make_shared<MixLU<double>>(std::vector<int64_t>{40}, frac(0.25))};
  };
  Sequential<double> a(make(), 11), b(make(), 11), c(make(), 12);
  a.reset_parameters();  // what Sequential(seed=...) does in Python
  b.reset_parameters();
  c.reset_parameters();
  auto mask_of = [](Sequential<double>& s) {
    auto* m = dynamic_cast<MixLU<double>*>(s.layers()[0].get());
    return to_vector(m->mask());
  };
  CHECK(mask_of(a) == mask_of(b));
  CHECK(mask_of(a) != mask_of(c));
}

#ifdef BIONN_TEST_COUNTS_MALLOC
using bionn_test::mallocs_per_steps;

TEST_CASE("NegLU-family layers allocate nothing in steady state", "[allocation][neglu]") {
  UnitSelection sel;
  sel.fraction = 0.25;
  for (MixLUMode mode : {MixLUMode::Fixed, MixLUMode::RandomPerElement}) {
    auto layers = [&sel, mode] {
      return std::vector<LayerPtr<float>>{
          std::make_shared<Dense<float>>(20, 32), std::make_shared<MixLU<float>>(std::vector<int64_t>{32}, sel, mode),
          std::make_shared<MinMaxout<float>>(16, 2, sel), std::make_shared<LearnedActivation<float>>(16, 1.0, 0.0),
          std::make_shared<Dense<float>>(16, 4)};
    };
    CHECK(mallocs_per_steps(layers, Shape{8, 20}, 4, 5) == 0);
  }
}
#endif
