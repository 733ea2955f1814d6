// FGSM / PGD (core/attacks.h): FGSM equals one signed input-gradient step (Eq. 2), PGD stays inside
// the eps-ball and the valid range, is seeded and independent of the batch size, the explicit
// start replaces the random one, parameter gradients survive, and bad arguments are rejected.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/attacks.h"
#include "gradcheck.h"
#include "layers/activations.h"
#include "layers/dense.h"
#include "layers/flatten.h"
#include "layers/flexible.h"

using namespace bionn;
using namespace bionn_test;

namespace {

std::shared_ptr<Sequential<double>> model(uint64_t seed) {
  FlexibleOptions o;
  o.in_channels = 1;
  o.out_channels = 2;
  o.kernel_h = o.kernel_w = o.pool_kernel = 3;
  o.input_h = o.input_w = 6;
  o.threshold_init = 0.5;
  Rng rng(seed);
  std::vector<LayerPtr<double>> layers{std::make_shared<FlexibleConv2d<double>>(o, rng),
                                       std::make_shared<Sigmoid<double>>(), std::make_shared<Flatten<double>>(),
                                       std::make_shared<Dense<double>>(2 * 16, 3, true, "torch", rng)};
  return std::make_shared<Sequential<double>>(layers, seed);
}

struct Batch {
  Tensor<double> x, y;
  DataView<double> vx() const { return {x.data(), x.shape()}; }
  DataView<double> vy() const { return {y.data(), y.shape()}; }
};

Batch batch(int64_t n, uint64_t seed) {
  Rng rng(seed);
  Batch b{random_tensor<double>(Shape{n, 1, 6, 6}, rng, 0.0, 1.0), Tensor<double>(Shape{n})};
  for (int64_t i = 0; i < n; ++i) b.y[i] = static_cast<double>(rng.below(3));
  return b;
}

}  // namespace

TEST_CASE("FGSM is one signed input-gradient step, clipped (Eq. 2)", "[attacks]") {
  auto m = model(1);
  Batch b = batch(8, 2);
  CrossEntropyLoss<double> loss;
  const Tensor<double> g = m->input_gradient(b.vx(), b.vy(), loss);
  const double eps = 0.1;
  const Tensor<double> adv = fgsm_attack(*m, b.vx(), b.vy(), loss, eps);
  for (int64_t i = 0; i < adv.size(); ++i) {
    const double s = g[i] > 0 ? 1.0 : (g[i] < 0 ? -1.0 : 0.0);
    REQUIRE(adv[i] == Approx(std::clamp(b.x[i] + eps * s, 0.0, 1.0)).margin(1e-15));
  }
  // The loss goes up.
  const double before = loss.forward(m->forward(b.x, false), b.y);
  const double after = loss.forward(m->forward(adv, false), b.y);
  REQUIRE(after > before);
}

TEST_CASE("PGD projects onto the eps-ball and the valid range; seeded; batch-size independent", "[attacks]") {
  auto m = model(3);
  Batch b = batch(10, 4);
  CrossEntropyLoss<double> loss;
  AttackOptions o;
  o.eps = 0.05;
  o.alpha = 0.02;
  o.steps = 6;
  o.seed = 9;
  const Tensor<double> a = pgd_attack(*m, b.vx(), b.vy(), loss, o);
  for (int64_t i = 0; i < a.size(); ++i) {
    REQUIRE(std::abs(a[i] - b.x[i]) <= o.eps + 1e-12);
    REQUIRE(a[i] >= 0.0);
    REQUIRE(a[i] <= 1.0);
  }
  o.batch_size = 3;
  REQUIRE(to_vector(pgd_attack(*m, b.vx(), b.vy(), loss, o)) == to_vector(a));
  o.seed = 10;
  REQUIRE(to_vector(pgd_attack(*m, b.vx(), b.vy(), loss, o)) != to_vector(a));
  // An explicit start of zeros equals no random start.
  Tensor<double> zeros(b.x.shape(), 0.0);
  DataView<double> vz{zeros.data(), zeros.shape()};
  o.random_start = false;
  REQUIRE(to_vector(pgd_attack(*m, b.vx(), b.vy(), loss, o, &vz)) ==
          to_vector(pgd_attack(*m, b.vx(), b.vy(), loss, o)));
  REQUIRE(std::isfinite(loss.forward(m->forward(a, false), b.y)));
}

TEST_CASE("attacks leave parameter gradients as they were", "[attacks]") {
  auto m = model(5);
  Batch b = batch(4, 6);
  for (auto* p : m->parameters()) p->grad.fill(0.5);
  CrossEntropyLoss<double> loss;
  AttackOptions o;
  o.steps = 3;
  pgd_attack(*m, b.vx(), b.vy(), loss, o);
  for (auto* p : m->parameters())
    for (int64_t i = 0; i < p->grad.size(); ++i) REQUIRE(p->grad[i] == 0.5);
}

TEST_CASE("attacks reject bad arguments", "[attacks]") {
  auto m = model(7);
  Batch b = batch(4, 8);
  CrossEntropyLoss<double> loss;
  AttackOptions o;
  o.eps = -1;
  REQUIRE_THROWS_AS(pgd_attack(*m, b.vx(), b.vy(), loss, o), std::invalid_argument);
  o = AttackOptions();
  o.steps = -1;
  REQUIRE_THROWS_AS(pgd_attack(*m, b.vx(), b.vy(), loss, o), std::invalid_argument);
  o = AttackOptions();
  o.clip_min = 1;
  o.clip_max = 0;
  REQUIRE_THROWS_AS(pgd_attack(*m, b.vx(), b.vy(), loss, o), std::invalid_argument);
  o = AttackOptions();
  DataView<double> fewer{b.y.data(), Shape{3}};
  REQUIRE_THROWS_WITH(pgd_attack(*m, b.vx(), fewer, loss, o), Catch::Contains("labels"));
  // A model whose output is not (N, classes) logits.
  Rng rng(1);
  Sequential<double> not_a_classifier({std::make_shared<Sigmoid<double>>()}, 1);
  REQUIRE_THROWS_WITH(pgd_attack(not_a_classifier, b.vx(), b.vy(), loss, o), Catch::Contains("logits"));
}
