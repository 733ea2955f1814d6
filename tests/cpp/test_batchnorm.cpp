// BatchNorm1d / BatchNorm2d: training-mode normalisation, running statistics with PyTorch's
// momentum convention and unbiased variance, eval mode, gradients, errors.
#include <catch2/catch.hpp>

#include "gradcheck.h"
#include "layers/batchnorm.h"

using namespace bionn;
using namespace bionn_test;

namespace {

Tensor<double>& buffer(BatchNorm<double>& bn, const std::string& name) {
  for (auto& b : bn.buffers())
    if (b.first == name) return *b.second;
  throw std::logic_error("no buffer " + name);
}

void set_affine(BatchNorm<double>& bn, std::initializer_list<double> gamma, std::initializer_list<double> beta) {
  auto params = bn.parameters();
  REQUIRE(params.size() == 2);
  int64_t i = 0;
  for (double g : gamma) params[0]->value[i++] = g;
  i = 0;
  for (double b : beta) params[1]->value[i++] = b;
}

// Per-channel batch mean and biased variance of an (N, C, ...) tensor.
void channel_stats(const Tensor<double>& x, std::vector<double>& mean, std::vector<double>& var) {
  const int64_t n = x.dim(0), c = x.dim(1), inner = x.shape().sample_numel() / c;
  mean.assign(static_cast<size_t>(c), 0.0);
  var.assign(static_cast<size_t>(c), 0.0);
  for (int64_t ch = 0; ch < c; ++ch) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < inner; ++k) s += x[(i * c + ch) * inner + k];
    const double m = s / static_cast<double>(n * inner);
    double ss = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < inner; ++k) ss += (x[(i * c + ch) * inner + k] - m) * (x[(i * c + ch) * inner + k] - m);
    mean[static_cast<size_t>(ch)] = m;
    var[static_cast<size_t>(ch)] = ss / static_cast<double>(n * inner);
  }
}

}  // namespace

TEST_CASE("BatchNorm1d training forward on a hand-computed case", "[batchnorm]") {
  Rng rng;
  BatchNorm<double> bn(2, false);
  CHECK(bn.kind() == "BatchNorm1d");
  set_affine(bn, {2.0, 0.5}, {1.0, -1.0});
  // channel 0: 1,2,3,4 -> mean 2.5, biased var 1.25;  channel 1: 0,0,0,8 -> mean 2, biased var 12
  Tensor<double> x = make_tensor(Shape{4, 2}, {1, 0, 2, 0, 3, 0, 4, 8});
  const Tensor<double>& y = bn.forward(x, true, rng);
  const double eps = 1e-5, s0 = 1.0 / std::sqrt(1.25 + eps), s1 = 1.0 / std::sqrt(12.0 + eps);
  const double expected[8] = {2 * (1 - 2.5) * s0 + 1, 0.5 * (0 - 2) * s1 - 1, 2 * (2 - 2.5) * s0 + 1,
                              0.5 * (0 - 2) * s1 - 1, 2 * (3 - 2.5) * s0 + 1, 0.5 * (0 - 2) * s1 - 1,
                              2 * (4 - 2.5) * s0 + 1, 0.5 * (8 - 2) * s1 - 1};
  for (int i = 0; i < 8; ++i) CHECK(y[i] == Approx(expected[i]).margin(1e-12));

  SECTION("running statistics: (1 - momentum) * running + momentum * batch, unbiased variance") {
    const Tensor<double>& rm = buffer(bn, "running_mean");
    const Tensor<double>& rv = buffer(bn, "running_var");
    CHECK(rm[0] == Approx(0.1 * 2.5));
    CHECK(rm[1] == Approx(0.1 * 2.0));
    CHECK(rv[0] == Approx(0.9 * 1.0 + 0.1 * (5.0 / 3.0)));  // 1.25 * 4/3
    CHECK(rv[1] == Approx(0.9 * 1.0 + 0.1 * 16.0));         // 12 * 4/3
    CHECK(buffer(bn, "num_batches_tracked")[0] == 1.0);
    bn.forward(x, true, rng);
    CHECK(rm[0] == Approx(0.9 * 0.25 + 0.1 * 2.5));
    CHECK(rv[1] == Approx(0.9 * 2.5 + 0.1 * 16.0));
    CHECK(buffer(bn, "num_batches_tracked")[0] == 2.0);
  }
}

TEST_CASE("BatchNorm running statistics over several batches with a custom momentum", "[batchnorm]") {
  const bool spatial = GENERATE(false, true);
  CAPTURE(spatial);
  Rng rng(41);
  const double momentum = 0.3;
  BatchNorm<double> bn(3, spatial, 1e-5, momentum);
  std::vector<double> ref_mean(3, 0.0), ref_var(3, 1.0), mean, var;
  for (int step = 0; step < 4; ++step) {
    const Shape s = spatial ? Shape{5, 3, 2, 3} : Shape{6, 3};
    Tensor<double> x = random_tensor(s, rng, -2.0 + step, 3.0 + 2 * step);
    bn.forward(x, true, rng);
    channel_stats(x, mean, var);
    const double count = static_cast<double>(x.size() / 3);
    for (size_t c = 0; c < 3; ++c) {
      ref_mean[c] = (1 - momentum) * ref_mean[c] + momentum * mean[c];
      ref_var[c] = (1 - momentum) * ref_var[c] + momentum * var[c] * count / (count - 1);
    }
  }
  for (int64_t c = 0; c < 3; ++c) {
    CHECK(buffer(bn, "running_mean")[c] == Approx(ref_mean[static_cast<size_t>(c)]).epsilon(1e-12));
    CHECK(buffer(bn, "running_var")[c] == Approx(ref_var[static_cast<size_t>(c)]).epsilon(1e-12));
  }
  CHECK(buffer(bn, "num_batches_tracked")[0] == 4.0);
}

TEST_CASE("BatchNorm momentum 0 freezes and momentum 1 replaces the running statistics", "[batchnorm]") {
  Rng rng(42);
  Tensor<double> x = random_tensor(Shape{8, 2}, rng, 3.0, 5.0);
  std::vector<double> mean, var;
  channel_stats(x, mean, var);
  BatchNorm<double> frozen(2, false, 1e-5, 0.0), replace(2, false, 1e-5, 1.0);
  frozen.forward(x, true, rng);
  replace.forward(x, true, rng);
  for (int64_t c = 0; c < 2; ++c) {
    CHECK(buffer(frozen, "running_mean")[c] == 0.0);
    CHECK(buffer(frozen, "running_var")[c] == 1.0);
    CHECK(buffer(replace, "running_mean")[c] == Approx(mean[static_cast<size_t>(c)]));
    CHECK(buffer(replace, "running_var")[c] == Approx(var[static_cast<size_t>(c)] * 8.0 / 7.0));
  }
}

TEST_CASE("BatchNorm2d training forward normalises over batch and space", "[batchnorm]") {
  Rng rng(43);
  BatchNorm<double> bn(3, true);
  CHECK(bn.kind() == "BatchNorm2d");
  set_affine(bn, {1.5, -0.5, 2.0}, {0.1, 0.2, -0.3});
  Tensor<double> x = random_tensor(Shape{2, 3, 3, 4}, rng, -3.0, 5.0);
  std::vector<double> mean, var;
  channel_stats(x, mean, var);
  const Tensor<double>& y = bn.forward(x, true, rng);
  const double gamma[3] = {1.5, -0.5, 2.0}, beta[3] = {0.1, 0.2, -0.3};
  for (int64_t i = 0; i < x.size(); ++i) {
    const size_t c = static_cast<size_t>((i / 12) % 3);
    CHECK(y[i] == Approx(gamma[c] * (x[i] - mean[c]) / std::sqrt(var[c] + 1e-5) + beta[c]).margin(1e-12));
  }
}

TEST_CASE("BatchNorm eval mode uses and keeps the running statistics", "[batchnorm]") {
  Rng rng(44);
  BatchNorm<double> bn(2, false);
  set_affine(bn, {2.0, 3.0}, {0.5, -0.5});
  buffer(bn, "running_mean")[0] = 1.0;
  buffer(bn, "running_mean")[1] = -2.0;
  buffer(bn, "running_var")[0] = 4.0;
  buffer(bn, "running_var")[1] = 0.25;
  Tensor<double> x = make_tensor(Shape{1, 2}, {3.0, -1.0});  // batch of 1 is fine in eval mode
  const Tensor<double>& y = bn.forward(x, false, rng);
  CHECK(y[0] == Approx(2.0 * (3.0 - 1.0) / std::sqrt(4.0 + 1e-5) + 0.5));
  CHECK(y[1] == Approx(3.0 * (-1.0 + 2.0) / std::sqrt(0.25 + 1e-5) - 0.5));
  CHECK(buffer(bn, "running_mean")[0] == 1.0);
  CHECK(buffer(bn, "running_var")[1] == 0.25);
  CHECK(buffer(bn, "num_batches_tracked")[0] == 0.0);
  // In eval mode the input gradient is the plain per-channel scale.
  Tensor<double> g = make_tensor(Shape{1, 2}, {1.0, 1.0});
  const Tensor<double>& dx = bn.backward(g);
  CHECK(dx[0] == Approx(2.0 / std::sqrt(4.0 + 1e-5)));
  CHECK(dx[1] == Approx(3.0 / std::sqrt(0.25 + 1e-5)));
}

TEST_CASE("BatchNorm gradients match finite differences", "[batchnorm][gradcheck]") {
  struct C {
    bool spatial;
    bool affine;
    bool training;
    Shape shape;
    const char* what;
  };
  const C cases[] = {
      {false, true, true, Shape{5, 3}, "1d (N, C) train"},
      {false, true, true, Shape{3, 2, 4}, "1d (N, C, L) train"},
      {false, false, true, Shape{4, 3}, "1d non-affine train"},
      {true, true, true, Shape{3, 2, 3, 4}, "2d train"},
      {true, true, true, Shape{1, 2, 2, 3}, "2d train, batch 1 with several positions"},
      {true, false, true, Shape{2, 3, 2, 2}, "2d non-affine train"},
      {false, true, false, Shape{4, 3}, "1d eval"},
      {true, true, false, Shape{2, 2, 3, 3}, "2d eval"},
  };
  for (const C& c : cases) {
    INFO(c.what);
    Rng rng(45);
    const int64_t channels = c.shape[1];
    BatchNorm<double> bn(channels, c.spatial, 1e-5, 0.1, c.affine);
    // Non-trivial affine parameters and running statistics.
    for (auto* p : bn.parameters())
      for (int64_t i = 0; i < p->value.size(); ++i) p->value[i] = rng.uniform(0.5, 2.0);
    for (int64_t i = 0; i < channels; ++i) {
      buffer(bn, "running_mean")[i] = rng.uniform(-1, 1);
      buffer(bn, "running_var")[i] = rng.uniform(0.5, 2);
    }
    GradCheckOptions o;
    o.training = c.training;
    REQUIRE_GRADCHECK(gradcheck(bn, random_tensor(c.shape, rng, -2.0, 2.0), o));
  }
}

TEST_CASE("BatchNorm with one value per channel in training raises invalid_argument", "[batchnorm][errors]") {
  Rng rng;
  BatchNorm<double> bn1(3, false), bn2(3, true);
  Tensor<double> one(Shape{1, 3}, 1.0), one_l1(Shape{1, 3, 1}, 1.0), one_2d(Shape{1, 3, 1, 1}, 1.0);
  CHECK_THROWS_AS(bn1.forward(one, true, rng), std::invalid_argument);
  CHECK_THROWS_AS(bn1.forward(one_l1, true, rng), std::invalid_argument);
  CHECK_THROWS_AS(bn2.forward(one_2d, true, rng), std::invalid_argument);
  // Nothing was updated by the failed calls.
  CHECK(buffer(bn1, "num_batches_tracked")[0] == 0.0);
  CHECK(buffer(bn1, "running_var")[0] == 1.0);
  // Several positions per channel, or eval mode, are fine with a batch of 1 (as in PyTorch).
  Tensor<double> one_l4(Shape{1, 3, 4}), one_2x2(Shape{1, 3, 2, 2});
  for (int64_t i = 0; i < 12; ++i) one_l4[i] = one_2x2[i] = static_cast<double>(i % 5);
  CHECK_NOTHROW(bn1.forward(one_l4, true, rng));
  CHECK_NOTHROW(bn2.forward(one_2x2, true, rng));
  CHECK_NOTHROW(bn1.forward(one, false, rng));
  CHECK_NOTHROW(bn2.forward(one_2d, false, rng));
}

TEST_CASE("BatchNorm rejects bad hyper-parameters and shapes", "[batchnorm][errors]") {
  Rng rng;
  CHECK_THROWS_AS(BatchNorm<double>(0, false), std::invalid_argument);
  CHECK_THROWS_AS(BatchNorm<double>(3, false, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(BatchNorm<double>(3, false, -1e-5), std::invalid_argument);
  CHECK_THROWS_AS(BatchNorm<double>(3, true, 1e-5, 1.5), std::invalid_argument);
  CHECK_THROWS_AS(BatchNorm<double>(3, true, 1e-5, -0.1), std::invalid_argument);

  BatchNorm<double> bn1(3, false), bn2(3, true);
  Tensor<double> wrong_c(Shape{4, 2}, 1.0);
  CHECK_THROWS_AS(bn1.forward(wrong_c, true, rng), std::invalid_argument);
  Tensor<double> four_d(Shape{4, 3, 2, 2}, 1.0);
  CHECK_THROWS_AS(bn1.forward(four_d, true, rng), std::invalid_argument);
  Tensor<double> two_d(Shape{4, 3}, 1.0);
  CHECK_THROWS_AS(bn2.forward(two_d, true, rng), std::invalid_argument);
  Tensor<double> wrong_c2(Shape{4, 2, 2, 2}, 1.0);
  CHECK_THROWS_AS(bn2.forward(wrong_c2, true, rng), std::invalid_argument);
  Tensor<double> empty(Shape{0, 3});
  CHECK_THROWS_AS(bn1.forward(empty, false, rng), std::invalid_argument);

  Tensor<double> x = random_tensor(Shape{4, 3}, rng);
  bn1.forward(x, true, rng);
  Tensor<double> bad_grad(Shape{4, 2}, 1.0);
  CHECK_THROWS_AS(bn1.backward(bad_grad), std::invalid_argument);
}
