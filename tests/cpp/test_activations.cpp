// Element-wise activations: forward values against closed forms, gradients by finite
// differences (inputs kept away from kinks), factory validation, errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "gradcheck.h"
#include "layers/activations.h"

using namespace bionn;
using namespace bionn_test;

namespace {

const double kPoints[] = {-30.0, -3.0, -1.0, -0.25, 0.0, 0.5, 2.0, 25.0};

void check_forward(Layer<double>& layer, double (*expected)(double)) {
  Rng rng;
  Tensor<double> x(Shape{2, 4});
  for (int64_t i = 0; i < 8; ++i) x[i] = kPoints[i];
  const Tensor<double>& y = layer.forward(x, true, rng);
  REQUIRE(y.shape() == x.shape());
  for (int64_t i = 0; i < 8; ++i) {
    INFO(layer.kind() << "(" << x[i] << ")");
    CHECK(y[i] == Approx(expected(x[i])).epsilon(1e-12).margin(1e-300));
  }
}

// Random inputs in +-[0.1, 3]: away from the kinks at 0 (and from Softplus' threshold).
void check_gradients(Layer<double>& layer) {
  INFO(layer.kind());
  Rng rng(51);
  REQUIRE_GRADCHECK(gradcheck(layer, random_away_from_zero(Shape{4, 3, 2}, rng, 0.1, 3.0)));
}

}  // namespace

TEST_CASE("ReLU", "[activations]") {
  ReLU<double> relu;
  CHECK(relu.kind() == "ReLU");
  check_forward(relu, [](double x) { return x > 0 ? x : 0.0; });
  check_gradients(relu);
  // Derivative at exactly 0 is 0, as in PyTorch.
  Rng rng;
  Tensor<double> z(Shape{1, 1}, 0.0), g(Shape{1, 1}, 1.0);
  relu.forward(z, true, rng);
  CHECK(relu.backward(g)[0] == 0.0);
}

TEST_CASE("LeakyReLU", "[activations]") {
  LeakyReLU<double> leaky;  // default slope 0.01
  CHECK(leaky.kind() == "LeakyReLU");
  check_forward(leaky, [](double x) { return x > 0 ? x : 0.01 * x; });
  check_gradients(leaky);
  auto custom = make_leaky_relu<double>(0.2);
  check_forward(*custom, [](double x) { return x > 0 ? x : 0.2 * x; });
  check_gradients(*custom);
}

TEST_CASE("ELU", "[activations]") {
  ELU<double> elu;  // alpha 1
  CHECK(elu.kind() == "ELU");
  check_forward(elu, [](double x) { return x > 0 ? x : std::exp(x) - 1.0; });
  check_gradients(elu);
  auto custom = make_elu<double>(0.5);
  check_forward(*custom, [](double x) { return x > 0 ? x : 0.5 * (std::exp(x) - 1.0); });
  check_gradients(*custom);
}

TEST_CASE("Sigmoid", "[activations]") {
  Sigmoid<double> sig;
  CHECK(sig.kind() == "Sigmoid");
  check_forward(sig, [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
  check_gradients(sig);
  // Saturates without NaN.
  Rng rng;
  Tensor<double> x = make_tensor(Shape{2}, {-800.0, 800.0});
  const Tensor<double>& y = sig.forward(x, true, rng);
  CHECK(y[0] == 0.0);
  CHECK(y[1] == 1.0);
  Tensor<double> g(Shape{2}, 1.0);
  const Tensor<double>& dx = sig.backward(g);
  CHECK(dx[0] == 0.0);
  CHECK(dx[1] == 0.0);
}

TEST_CASE("Tanh", "[activations]") {
  Tanh<double> t;
  CHECK(t.kind() == "Tanh");
  check_forward(t, [](double x) { return (std::exp(2 * x) - 1) / (std::exp(2 * x) + 1); });
  check_gradients(t);
}

TEST_CASE("Softplus", "[activations]") {
  Softplus<double> sp;  // beta 1, threshold 20
  CHECK(sp.kind() == "Softplus");
  // log(1 + e^x); above the threshold PyTorch returns x itself.
  check_forward(sp, [](double x) { return x > 20 ? x : std::log1p(std::exp(x)); });
  check_gradients(sp);
  Rng rng;
  Tensor<double> big = make_tensor(Shape{1}, {25.0});
  CHECK(sp.forward(big, true, rng)[0] == 25.0);

  auto custom = make_softplus<double>(2.0, 10.0);
  // log(1 + e^{2x}) / 2, linear once 2x > 10.
  check_forward(*custom, [](double x) { return 2 * x > 10 ? x : std::log1p(std::exp(2 * x)) / 2; });
  check_gradients(*custom);
  Tensor<double> mid = make_tensor(Shape{1}, {1.0});
  CHECK(custom->forward(mid, true, rng)[0] == Approx(std::log(1.0 + std::exp(2.0)) / 2.0));
}

TEST_CASE("Activations work on any rank and keep the shape", "[activations]") {
  Rng rng(52);
  Tanh<double> t;
  Tensor<double> x4 = random_tensor(Shape{2, 3, 2, 2}, rng);
  CHECK(t.forward(x4, true, rng).shape() == x4.shape());
  REQUIRE_GRADCHECK(gradcheck(t, x4));
  Tensor<double> x1 = random_tensor(Shape{5}, rng);
  CHECK(t.forward(x1, true, rng).shape() == x1.shape());
}

TEST_CASE("Activation factories and shapes are validated", "[activations][errors]") {
  CHECK_THROWS_AS(make_leaky_relu<double>(std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS(make_leaky_relu<double>(INFINITY), std::invalid_argument);
  CHECK_THROWS_AS(make_elu<double>(-1.0), std::invalid_argument);
  CHECK_THROWS_AS(make_elu<float>(std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS(make_softplus<double>(0.0, 20.0), std::invalid_argument);
  CHECK_THROWS_AS(make_softplus<double>(-1.0, 20.0), std::invalid_argument);
  CHECK_THROWS_AS(make_softplus<double>(1.0, 0.0), std::invalid_argument);
  CHECK_NOTHROW(make_elu<double>(0.0));

  Rng rng;
  ReLU<double> relu;
  Tensor<double> empty(Shape{0, 3});
  CHECK_THROWS_AS(relu.forward(empty, true, rng), std::invalid_argument);
  Tensor<double> none;
  CHECK_THROWS_AS(relu.forward(none, true, rng), std::invalid_argument);
  Tensor<double> g(Shape{2, 2}, 1.0);
  CHECK_THROWS_AS(relu.backward(g), std::logic_error);  // before forward
  Tensor<double> x(Shape{2, 3}, 1.0);
  relu.forward(x, true, rng);
  CHECK_THROWS_AS(relu.backward(g), std::invalid_argument);
}
