// Dropout / Dropout2d: eval identity, inverted scaling, seeding, channel-wise masks, errors.
#include <catch2/catch.hpp>

#include "gradcheck.h"
#include "layers/dropout.h"

using namespace bionn;
using namespace bionn_test;

TEST_CASE("Dropout in eval mode (or p = 0) is the identity", "[dropout]") {
  Rng rng(61);
  Tensor<double> x = random_tensor(Shape{4, 5}, rng);
  Tensor<double> g = random_tensor(Shape{4, 5}, rng);
  Dropout<double> d(0.5);
  CHECK(d.kind() == "Dropout");
  const Tensor<double>& y = d.forward(x, false, rng);
  CHECK(to_vector(y) == to_vector(x));
  CHECK(to_vector(d.backward(g)) == to_vector(g));

  Dropout<double> none(0.0);
  CHECK(to_vector(none.forward(x, true, rng)) == to_vector(x));
  CHECK(to_vector(none.backward(g)) == to_vector(g));

  // Eval mode draws nothing from the engine.
  Rng a(5), b(5);
  d.forward(x, false, a);
  CHECK(a.next_u64() == b.next_u64());
}

TEST_CASE("Dropout training mask: zeros and 1/(1-p) scaling", "[dropout]") {
  const double p = GENERATE(0.2, 0.5, 0.9);
  CAPTURE(p);
  Rng rng(62);
  Dropout<double> d(p);
  Tensor<double> x = random_tensor(Shape{200, 50}, rng, 0.5, 1.5);
  const Tensor<double>& y = d.forward(x, true, rng);
  const double scale = 1.0 / (1.0 - p);
  int64_t dropped = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    if (y[i] == 0.0) {
      ++dropped;
    } else {
      REQUIRE(y[i] == Approx(x[i] * scale).epsilon(1e-15));
    }
  }
  const double frac = static_cast<double>(dropped) / static_cast<double>(x.size());
  CHECK(frac == Approx(p).margin(0.02));  // 10000 draws: std of the fraction <= 0.005

  // Backward applies the very same mask.
  Tensor<double> g = random_tensor(Shape{200, 50}, rng, 0.5, 1.5);
  const std::vector<double> out = to_vector(y);
  const Tensor<double>& dx = d.backward(g);
  for (int64_t i = 0; i < x.size(); ++i) {
    if (out[static_cast<size_t>(i)] == 0.0)
      REQUIRE(dx[i] == 0.0);
    else
      REQUIRE(dx[i] == Approx(g[i] * scale).epsilon(1e-15));
  }
}

TEST_CASE("Dropout masks are a function of the engine's seed", "[dropout]") {
  Tensor<float> x(Shape{8, 16}, 1.0f);
  Dropout<float> d1(0.5), d2(0.5);
  Rng a(7), b(7), c(8);
  const std::vector<float> ya = to_vector(d1.forward(x, true, a));
  const std::vector<float> yb = to_vector(d2.forward(x, true, b));
  CHECK(ya == yb);
  const std::vector<float> yc = to_vector(d2.forward(x, true, c));
  CHECK(ya != yc);
  // The engine advances: the next mask from the same engine is different.
  const std::vector<float> ya2 = to_vector(d1.forward(x, true, a));
  CHECK(ya != ya2);
}

TEST_CASE("Dropout2d zeroes whole channels", "[dropout]") {
  Rng rng(63);
  const double p = 0.5;
  Dropout<double> d(p, true);
  CHECK(d.kind() == "Dropout2d");
  const int64_t n = 4, c = 6, hw = 9;
  Tensor<double> x = random_tensor(Shape{n, c, 3, 3}, rng, 0.5, 1.5);
  const Tensor<double>& y = d.forward(x, true, rng);
  int zeroed = 0, kept = 0;
  std::vector<bool> plane_kept;
  for (int64_t plane = 0; plane < n * c; ++plane) {
    const bool first_zero = y[plane * hw] == 0.0;
    for (int64_t k = 0; k < hw; ++k) {
      const int64_t i = plane * hw + k;
      if (first_zero)
        REQUIRE(y[i] == 0.0);
      else
        REQUIRE(y[i] == Approx(x[i] / (1.0 - p)));
    }
    (first_zero ? zeroed : kept) += 1;
    plane_kept.push_back(!first_zero);
  }
  // 24 draws at p = 0.5: both outcomes occur (fixed seed, so this is deterministic).
  CHECK(zeroed > 0);
  CHECK(kept > 0);
  Tensor<double> g(Shape{n, c, 3, 3}, 1.0);
  const Tensor<double>& dx = d.backward(g);
  for (int64_t plane = 0; plane < n * c; ++plane)
    for (int64_t k = 0; k < hw; ++k)
      REQUIRE(dx[plane * hw + k] == (plane_kept[static_cast<size_t>(plane)] ? 2.0 : 0.0));

  // (N, C, L) inputs are accepted too.
  Tensor<double> x3(Shape{2, 3, 5}, 1.0);
  CHECK(d.forward(x3, true, rng).shape() == x3.shape());
}

TEST_CASE("Dropout gradients match finite differences with a fixed mask", "[dropout][gradcheck]") {
  Rng rng(64);
  Dropout<double> d(0.3);
  REQUIRE_GRADCHECK(gradcheck(d, random_tensor(Shape{4, 6}, rng)));
  Dropout<double> d2(0.4, true);
  REQUIRE_GRADCHECK(gradcheck(d2, random_tensor(Shape{3, 4, 2, 2}, rng)));
}

TEST_CASE("Dropout rejects bad hyper-parameters and shapes", "[dropout][errors]") {
  CHECK_THROWS_AS(Dropout<double>(1.0), std::invalid_argument);
  CHECK_THROWS_AS(Dropout<double>(-0.1), std::invalid_argument);
  CHECK_THROWS_AS(Dropout<double>(std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS(Dropout<double>(1.5, true), std::invalid_argument);

  Rng rng;
  Dropout<double> d(0.5), d2(0.5, true);
  Tensor<double> empty(Shape{0, 4});
  CHECK_THROWS_AS(d.forward(empty, true, rng), std::invalid_argument);
  Tensor<double> two_d(Shape{2, 4}, 1.0);
  CHECK_THROWS_AS(d2.forward(two_d, true, rng), std::invalid_argument);

  Tensor<double> g(Shape{2, 4}, 1.0);
  CHECK_THROWS_AS(d.backward(g), std::logic_error);  // before forward
  Tensor<double> x(Shape{3, 4}, 1.0);
  d.forward(x, true, rng);
  CHECK_THROWS_AS(d.backward(g), std::invalid_argument);
  d.forward(x, false, rng);
  CHECK_THROWS_AS(d.backward(g), std::invalid_argument);
}
