// Flexible layer (Eq. 1): finite-difference gradients in every threshold mode (through the
// convolution, the max-pooling, the mask and T), the limits of the mask (baseline = convolution,
// huge threshold = max-pooling), random-threshold seeding, and argument validation.
#include <catch2/catch.hpp>

#include <cmath>

#include "allocation.h"
#include "gradcheck.h"
#include "layers/activations.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/flatten.h"
#include "layers/flexible.h"
#include "layers/pooling.h"

using namespace bionn;
using namespace bionn_test;

namespace {

FlexibleOptions small(const std::string& mode, int64_t cin = 1, int64_t cout = 3) {
  FlexibleOptions o;
  o.in_channels = cin;
  o.out_channels = cout;
  o.kernel_h = o.kernel_w = 3;
  o.pool_kernel = 3;
  o.input_h = 5;
  o.input_w = 6;
  o.threshold_mode = mode;
  o.threshold_init = 0.3;
  // A soft mask (small s) so that every unit's gradient through σ' is visible to finite differences.
  o.scale = 4.0;
  return o;
}

}  // namespace

TEST_CASE("FlexibleConv2d gradients match finite differences", "[flexible][gradcheck]") {
  const std::string mode = GENERATE(as<std::string>{}, "learned", "uniform", "reverse", "baseline", "random");
  const int64_t cin = GENERATE(1, 3);
  CAPTURE(mode, cin);
  Rng rng(21);
  FlexibleConv2d<double> f(small(mode, cin, 3), rng);
  if (mode == "learned" || mode == "reverse") {
    REQUIRE(f.parameters().size() == 3u);
    REQUIRE(f.parameters()[2]->tag == "threshold");
    REQUIRE(f.threshold().value.shape() == (Shape{3, 3, 4}));
    for (int64_t i = 0; i < f.threshold().value.size(); ++i) f.threshold().value[i] = rng.uniform(-0.5, 1.0);
  } else {
    REQUIRE(f.parameters().size() == 2u);
  }
  // Distinct inputs: no ties inside a pooling window, so the argmax is stable under a small step.
  Tensor<double> x = distinct_tensor<double>(Shape{2, cin, 5, 6}, rng, 0.013);
  REQUIRE_GRADCHECK(gradcheck(f, x));  // random mode: the engine is reseeded before every forward
}

TEST_CASE("FlexibleConv2d with s = 50 still has exact gradients", "[flexible][gradcheck]") {
  Rng rng(5);
  FlexibleOptions o = small("learned");
  o.scale = 50.0;
  FlexibleConv2d<double> f(o, rng);
  for (int64_t i = 0; i < f.threshold().value.size(); ++i) f.threshold().value[i] = rng.uniform(-0.2, 0.2);
  GradCheckOptions g;
  g.h = 1e-6;
  g.rtol = 1e-5;
  REQUIRE_GRADCHECK(gradcheck(f, distinct_tensor<double>(Shape{2, 1, 5, 6}, rng, 0.011), g));
}

TEST_CASE("FlexibleConv2d limits: baseline is the convolution, a huge threshold is max-pooling", "[flexible]") {
  Rng rng(3), rng2(3);
  FlexibleOptions o = small("baseline", 2, 2);
  FlexibleConv2d<double> flex(o, rng);
  Conv2d<double> conv(2, 2, 3, 3, 1, 0, true, "torch", rng2);  // same engine state: same weights
  Tensor<double> x = random_tensor<double>(Shape{2, 2, 5, 6}, rng);
  Rng r;
  const Tensor<double>& a = flex.forward(x, false, r);
  const Tensor<double>& b = conv.forward(x, false, r);
  for (int64_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == b[i]);

  o.threshold_mode = "uniform";
  o.threshold_init = 1e6;  // σ((T − f_max)·s) = 1: max-pooling everywhere
  FlexibleConv2d<double> all_max(o, rng);
  Pool2d<double> pool(Pool2d<double>::Mode::Max, 3, 1, 0);
  const Tensor<double>& c = all_max.forward(x, false, r);
  const Tensor<double>& d = pool.forward(x, false, r);
  for (int64_t i = 0; i < c.size(); ++i) REQUIRE(c[i] == Approx(d[i]).margin(1e-12));
  all_max.set_uniform_threshold(-1e6);  // and the convolution everywhere
  REQUIRE(all_max.forward(x, false, r)[0] == Approx(all_max.last_conv()[0]));
}

TEST_CASE("FlexibleConv2d Eq. 1 mask: the sigmoid's value, never subnormal, the same at every position", "[flexible]") {
  // 28x28 input, 5x5 kernels: 576 units per channel, so blocks of 64 and a ragged end are both hit.
  FlexibleOptions o;
  o.in_channels = 1;
  o.out_channels = 2;
  o.kernel_h = o.kernel_w = 5;
  o.pool_kernel = 5;
  o.input_h = o.input_w = 28;
  o.threshold_mode = "uniform";
  o.threshold_init = 0.5;
  o.scale = 50.0;
  o.bias = false;
  Rng rng(3);
  FlexibleConv2d<float> layer(o, rng);
  Tensor<float> x(Shape{3, 1, 28, 28});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 101) / 50.0f - 1.0f;  // [-1, 1]
  x[0] = 1e6f;  // a huge maximum: z = -5e7, clamped
  const Tensor<float>& y = layer.forward(x, true, rng);
  Pool2d<float> pool(Pool2d<float>::Mode::Max, 5, 1, 0);
  const Tensor<float> pooled = pool.forward(x, true, rng);
  const int64_t hw = 24 * 24;
  for (int64_t s = 0; s < 3; ++s)
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t i = 0; i < hw; ++i) {
        const float f = pooled[s * hw + i];
        const double m = 1.0 / (1.0 + std::exp(-(0.5 - static_cast<double>(f)) * 50.0));
        const float got = layer.last_mask()[(s * 2 + c) * hw + i];
        INFO("sample " << s << " channel " << c << " unit " << i << " f_max " << f);
        CHECK(got == Approx(m).margin(1e-6).epsilon(1e-5));
        CHECK((got == 0.0f || std::fpclassify(got) == FP_NORMAL));
      }
  // Equal inputs give bit-equal masks at every position, whichever SIMD block they fall in.
  Tensor<float> flat(Shape{1, 1, 28, 28});
  flat.fill(0.25f);
  const Tensor<float>& mf = (layer.forward(flat, true, rng), layer.last_mask());
  for (int64_t i = 1; i < mf.size(); ++i) REQUIRE(mf[i] == mf[0]);
  CHECK(std::isfinite(y[0]));
}

TEST_CASE("FlexibleConv2d random thresholds: seeded, redrawn every pass, also in inference", "[flexible]") {
  Rng init(9);
  FlexibleOptions o = small("random");
  o.scale = 50.0;
  FlexibleConv2d<double> f(o, init);
  Tensor<double> x = random_tensor<double>(Shape{4, 1, 5, 6}, init, 0.0, 1.0);
  Rng a(1), b(1);
  const std::vector<double> first = to_vector(f.forward(x, false, a));
  const std::vector<double> again = to_vector(f.forward(x, false, b));
  REQUIRE(first == again);  // same seed, same masks
  const std::vector<double> next = to_vector(f.forward(x, false, a));
  REQUIRE(first != next);  // a new draw at the next pass, in eval mode too
  // About half of the units see T = 1 (max-pooling where f_max < 1): the mask is not constant.
  double share = 0;
  for (int64_t i = 0; i < f.last_mask().size(); ++i) share += f.last_mask()[i];
  share /= static_cast<double>(f.last_mask().size());
  REQUIRE(share > 0.2);
  REQUIRE(share < 0.8);
}

TEST_CASE("FlexibleConv2d validates its arguments", "[flexible]") {
  FlexibleOptions o = small("learned", 2, 3);  // pooled map has 2 channels, output 3
  REQUIRE_THROWS_AS(FlexibleConv2d<float>(o), std::invalid_argument);
  o = small("sometimes");
  REQUIRE_THROWS_AS(FlexibleConv2d<float>(o), std::invalid_argument);
  o = small("learned");
  o.pool_kernel = 2;  // 4x5 vs 3x4 outputs
  REQUIRE_THROWS_WITH(FlexibleConv2d<float>(o), Catch::Contains("same output size"));
  o = small("learned");
  o.scale = 0;
  REQUIRE_THROWS_AS(FlexibleConv2d<float>(o), std::invalid_argument);
  o = small("learned");
  FlexibleConv2d<float> f(o);
  Rng r;
  Tensor<float> wrong(Shape{1, 1, 6, 6});
  REQUIRE_THROWS_WITH(f.forward(wrong, false, r), Catch::Contains("input_size"));
  Tensor<float> g(Shape{1, 3, 3, 4});
  REQUIRE_THROWS_AS(f.backward(g), std::logic_error);
  REQUIRE_THROWS_AS(f.set_uniform_threshold(0.1), std::logic_error);
}

#ifdef BIONN_TEST_COUNTS_MALLOC
using bionn_test::mallocs_per_steps;

TEST_CASE("flexible layers allocate nothing in steady state", "[allocation]") {
  for (const char* mode : {"learned", "random", "baseline"}) {
    CAPTURE(mode);
    auto layers = [mode] {
      FlexibleOptions o;
      o.out_channels = 12;
      o.kernel_h = o.kernel_w = o.pool_kernel = 5;
      o.input_h = o.input_w = 28;
      o.threshold_mode = mode;
      return std::vector<LayerPtr<float>>{std::make_shared<FlexibleConv2d<float>>(o),
                                          std::make_shared<Sigmoid<float>>(), std::make_shared<Flatten<float>>(),
                                          std::make_shared<Dense<float>>(6912, 10)};
    };
    CHECK(mallocs_per_steps(layers, Shape{16, 1, 28, 28}, 10, 3) == 0);
  }
}
#endif
