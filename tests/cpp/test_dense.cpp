// Dense layer: forward values, gradients (finite differences), accumulation, init, errors.
#include <catch2/catch.hpp>

#include "gradcheck.h"
#include "layers/dense.h"

using namespace bionn;
using namespace bionn_test;

TEST_CASE("Dense forward computes x W^T + b", "[dense]") {
  Rng rng(1);
  Dense<double> d(3, 2, true, "torch", rng);
  const double W[6] = {1, 2, 3, -1, 0.5, 0};
  const double b[2] = {0.25, -2};
  auto params = d.parameters();
  REQUIRE(params.size() == 2);
  for (int i = 0; i < 6; ++i) params[0]->value[i] = W[i];
  for (int i = 0; i < 2; ++i) params[1]->value[i] = b[i];
  Tensor<double> x = make_tensor(Shape{2, 3}, {1, 0, -1, 2, 3, 4});
  const Tensor<double>& y = d.forward(x, false, rng);
  REQUIRE(y.shape() == Shape{2, 2});
  // row 0: [1*1 + 0*2 + -1*3, -1*1 + 0.5*0 + 0*-1] + b
  CHECK(y[0] == Approx(-2 + 0.25));
  CHECK(y[1] == Approx(-1 - 2));
  // row 1: [2 + 6 + 12, -2 + 1.5 + 0] + b
  CHECK(y[2] == Approx(20 + 0.25));
  CHECK(y[3] == Approx(-0.5 - 2));
}

TEST_CASE("Dense without bias has a single parameter and no offset", "[dense]") {
  Rng rng(2);
  Dense<double> d(2, 2, false, "torch", rng);
  auto params = d.parameters();
  REQUIRE(params.size() == 1);
  CHECK(params[0]->name == "weight");
  Tensor<double> x(Shape{1, 2}, 0.0);
  const Tensor<double>& y = d.forward(x, true, rng);
  CHECK(y[0] == 0.0);
  CHECK(y[1] == 0.0);
}

TEST_CASE("Dense gradients match finite differences", "[dense][gradcheck]") {
  const bool bias = GENERATE(true, false);
  const int64_t n = GENERATE(1, 5);
  CAPTURE(bias, n);
  Rng rng(3);
  Dense<double> d(4, 3, bias, "torch", rng);
  REQUIRE_GRADCHECK(gradcheck(d, random_tensor(Shape{n, 4}, rng)));
}

TEST_CASE("Dense parameter gradients accumulate across backward calls", "[dense]") {
  Rng rng(4);
  Dense<double> d(3, 2, true, "torch", rng);
  Tensor<double> x = random_tensor(Shape{4, 3}, rng);
  Tensor<double> g = random_tensor(Shape{4, 2}, rng);
  d.forward(x, true, rng);
  d.backward(g, true);
  const auto w1 = to_vector(d.parameters()[0]->grad);
  const auto b1 = to_vector(d.parameters()[1]->grad);
  d.forward(x, true, rng);
  d.backward(g, false);  // parameter gradients still accumulate without the input gradient
  const auto w2 = to_vector(d.parameters()[0]->grad);
  const auto b2 = to_vector(d.parameters()[1]->grad);
  REQUIRE(w1.size() == 6);
  for (size_t i = 0; i < w1.size(); ++i) CHECK(w2[i] == Approx(2 * w1[i]));
  for (size_t i = 0; i < b1.size(); ++i) CHECK(b2[i] == Approx(2 * b1[i]));
  // The bias gradient is the column sum of grad_out.
  for (int j = 0; j < 2; ++j) CHECK(b1[static_cast<size_t>(j)] == Approx(g[j] + g[2 + j] + g[4 + j] + g[6 + j]));
}

TEST_CASE("Dense float and double agree", "[dense]") {
  Rng r1(5), r2(5);
  Dense<float> df(6, 4, true, "glorot_uniform", r1);
  Dense<double> dd(6, 4, true, "glorot_uniform", r2);
  Rng xr(6);
  Tensor<double> xd = random_tensor<double>(Shape{3, 6}, xr);
  Tensor<float> xf(Shape{3, 6});
  for (int64_t i = 0; i < xd.size(); ++i) xf[i] = static_cast<float>(xd[i]);
  const auto& yf = df.forward(xf, false, r1);
  const auto& yd = dd.forward(xd, false, r2);
  for (int64_t i = 0; i < yd.size(); ++i) CHECK(yf[i] == Approx(yd[i]).margin(1e-5));
}

TEST_CASE("Dense initialisers: bounds, determinism, zeros", "[dense][init]") {
  SECTION("torch init stays within 1/sqrt(fan_in) and is not constant") {
    Rng rng(7);
    Dense<double> d(16, 8, true, "torch", rng);
    const double bound = 1.0 / std::sqrt(16.0);
    for (auto* p : d.parameters()) {
      double lo = 1e9, hi = -1e9;
      for (int64_t i = 0; i < p->value.size(); ++i) {
        lo = std::min(lo, p->value[i]);
        hi = std::max(hi, p->value[i]);
      }
      CHECK(lo >= -bound);
      CHECK(hi <= bound);
      CHECK(hi - lo > 0.5 * bound);
    }
  }
  SECTION("he_uniform bound is sqrt(6 / fan_in)") {
    Rng rng(8);
    Dense<double> d(10, 50, true, "he_uniform", rng);
    const double bound = std::sqrt(6.0 / 10.0);
    double mx = 0;
    for (int64_t i = 0; i < d.weight().value.size(); ++i) mx = std::max(mx, std::abs(d.weight().value[i]));
    CHECK(mx <= bound);
    CHECK(mx > 0.8 * bound);
    // He/Glorot use zero biases.
    for (int64_t i = 0; i < d.parameters()[1]->value.size(); ++i) CHECK(d.parameters()[1]->value[i] == 0.0);
  }
  SECTION("same seed gives the same weights, another seed different ones") {
    Rng a(9), b(9), c(10);
    Dense<float> da(5, 5, true, "torch", a), db(5, 5, true, "torch", b), dc(5, 5, true, "torch", c);
    CHECK(to_vector(da.weight().value) == to_vector(db.weight().value));
    CHECK(to_vector(da.weight().value) != to_vector(dc.weight().value));
  }
  SECTION("reset_parameters redraws from the given engine") {
    Rng a(11);
    Dense<double> d(4, 4, true, "torch", a);
    const auto before = to_vector(d.weight().value);
    Rng same(11);
    d.reset_parameters(same);
    CHECK(to_vector(d.weight().value) == before);
    d.reset_parameters(same);
    CHECK(to_vector(d.weight().value) != before);
  }
  SECTION("zeros") {
    Rng rng(12);
    Dense<double> d(3, 3, true, "zeros", rng);
    for (auto* p : d.parameters())
      for (int64_t i = 0; i < p->value.size(); ++i) CHECK(p->value[i] == 0.0);
  }
}

TEST_CASE("Dense rejects bad hyper-parameters and shapes", "[dense][errors]") {
  Rng rng(13);
  CHECK_THROWS_AS(Dense<double>(0, 3, true, "torch", rng), std::invalid_argument);
  CHECK_THROWS_AS(Dense<double>(3, -1, true, "torch", rng), std::invalid_argument);
  CHECK_THROWS_AS(Dense<double>(3, 3, true, "no_such_init", rng), std::invalid_argument);

  Dense<double> d(3, 2, true, "torch", rng);
  Tensor<double> wrong_features(Shape{4, 5}, 1.0);
  CHECK_THROWS_AS(d.forward(wrong_features, true, rng), std::invalid_argument);
  Tensor<double> three_d(Shape{4, 3, 1}, 1.0);
  CHECK_THROWS_AS(d.forward(three_d, true, rng), std::invalid_argument);
  Tensor<double> empty(Shape{0, 3});
  CHECK_THROWS_AS(d.forward(empty, true, rng), std::invalid_argument);

  Dense<double> fresh(3, 2, true, "torch", rng);
  Tensor<double> g(Shape{4, 2}, 1.0);
  CHECK_THROWS_AS(fresh.backward(g), std::logic_error);  // backward before forward

  Tensor<double> x(Shape{4, 3}, 1.0);
  d.forward(x, true, rng);
  Tensor<double> bad_grad(Shape{4, 3}, 1.0);
  CHECK_THROWS_AS(d.backward(bad_grad), std::invalid_argument);
  Tensor<double> bad_batch(Shape{3, 2}, 1.0);
  CHECK_THROWS_AS(d.backward(bad_batch), std::invalid_argument);
}

// The helper itself must be able to fail: a layer whose backward is off by 0.1% is caught.
namespace {
class SlightlyWrongDense : public Layer<double> {
 public:
  explicit SlightlyWrongDense(Rng& rng) : inner_(3, 2, true, "torch", rng) {}
  std::string kind() const override { return "SlightlyWrongDense"; }
  const Tensor<double>& forward(const Tensor<double>& x, bool t, Rng& r) override { return inner_.forward(x, t, r); }
  const Tensor<double>& backward(const Tensor<double>& g, bool need) override {
    grad_ = inner_.backward(g, need);
    for (int64_t i = 0; i < grad_.size(); ++i) grad_[i] *= 1.001;
    return grad_;
  }
  std::vector<Parameter<double>*> parameters() override { return inner_.parameters(); }

 private:
  Dense<double> inner_;
  Tensor<double> grad_;
};
}  // namespace

TEST_CASE("gradcheck detects a slightly wrong input gradient", "[gradcheck]") {
  Rng rng(14);
  SlightlyWrongDense layer(rng);
  const GradCheckResult r = gradcheck(layer, random_tensor(Shape{2, 3}, rng));
  CHECK_FALSE(r.ok);
  CHECK(r.failures > 0);
  CHECK(r.checked == 6 + 6 + 2);
}
