// Steady-state allocation of the core layers (see allocation.h); each mechanism's allocation test
// lives in its own test_<mechanism>.cpp.
#include <catch2/catch.hpp>

#include "allocation.h"

#ifdef BIONN_TEST_COUNTS_MALLOC
#include "layers/activations.h"
#include "layers/batchnorm.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/pooling.h"

using namespace bionn;
using namespace bionn_test;

TEST_CASE("an MLP train step allocates nothing in steady state", "[allocation]") {
  auto layers = [] {
    return std::vector<LayerPtr<float>>{std::make_shared<Dense<float>>(64, 128),
                                        std::make_shared<BatchNorm<float>>(128, false), std::make_shared<ReLU<float>>(),
                                        std::make_shared<Dropout<float>>(0.2), std::make_shared<Dense<float>>(128, 10)};
  };
  CHECK(mallocs_per_steps(layers, Shape{32, 64}, 10, 5) == 0);
  CHECK(mallocs_per_steps(layers, Shape{2, 64}, 10, 5) == 0);  // tiny batch: GEMV paths
}

TEST_CASE("a benchmark-sized MLP step allocates nothing in steady state", "[allocation]") {
  auto layers = [] {
    return std::vector<LayerPtr<float>>{std::make_shared<Dense<float>>(784, 800),
                                        std::make_shared<BatchNorm<float>>(800, false), std::make_shared<ReLU<float>>(),
                                        std::make_shared<Dense<float>>(800, 10)};
  };
  CHECK(mallocs_per_steps(layers, Shape{128, 784}, 10, 2) == 0);
}

TEST_CASE("a CNN train step allocates nothing in steady state", "[allocation]") {
  auto layers = [] {
    return std::vector<LayerPtr<float>>{
        std::make_shared<Conv2d<float>>(1, 6, 5, 5, 1, 2), std::make_shared<Sigmoid<float>>(),
        std::make_shared<Pool2d<float>>(Pool2d<float>::Mode::Max, 2, 2, 0), std::make_shared<Flatten<float>>(),
        std::make_shared<Dense<float>>(6 * 14 * 14, 10)};
  };
  CHECK(mallocs_per_steps(layers, Shape{16, 1, 28, 28}, 10, 5) == 0);
}
#endif
