// Steady-state training allocates nothing: after warm-up steps, a train step (gather, forward,
// loss, backward, optimizer) must not call malloc at all — ours or Eigen's. malloc is interposed
// for the whole test binary (glibc exports __libc_malloc); skipped under the sanitizers, which
// interpose malloc themselves.
#include <catch2/catch.hpp>

#if !defined(__SANITIZE_ADDRESS__) && defined(__GLIBC__)
#include <atomic>
#include <cstddef>

#include "core/sequential.h"
#include "layers/activations.h"
#include "layers/amplifying.h"
#include "layers/batchnorm.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/flexible.h"
#include "layers/focus.h"
#include "layers/neglu.h"
#include "layers/pooling.h"
#include "selforg/selforg.h"

extern "C" void* __libc_malloc(size_t);
static std::atomic<long> g_mallocs{0};
static std::atomic<bool> g_counting{false};
extern "C" void* malloc(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}

using namespace bionn;

namespace {

template <typename Make>
long mallocs_per_steps(Make make_layers, Shape x_shape, int64_t classes, int steps) {
  Sequential<float> model(make_layers(), 7);
  Rng rng(3);
  Tensor<float> x(x_shape), y(Shape{x_shape[0]});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.normal());
  for (int64_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(rng.below(static_cast<uint64_t>(classes)));
  CrossEntropyLoss<float> loss;
  ParamGroup<float> group;
  group.params = model.parameters();
  group.options.lr = 0.01;
  group.options.momentum = 0.9;
  SGD<float> opt({group});
  for (int i = 0; i < 3; ++i) model.train_step(x, y, loss, opt);  // warm-up sizes every buffer
  g_mallocs = 0;
  g_counting = true;
  for (int i = 0; i < steps; ++i) model.train_step(x, y, loss, opt);
  g_counting = false;
  return g_mallocs.load();
}

}  // namespace

TEST_CASE("an MLP train step allocates nothing in steady state", "[allocation]") {
  auto layers = [] {
    return std::vector<LayerPtr<float>>{
        std::make_shared<Dense<float>>(64, 128), std::make_shared<BatchNorm<float>>(128, false),
        std::make_shared<ReLU<float>>(), std::make_shared<Dropout<float>>(0.2),
        std::make_shared<Dense<float>>(128, 10)};
  };
  CHECK(mallocs_per_steps(layers, Shape{32, 64}, 10, 5) == 0);
  CHECK(mallocs_per_steps(layers, Shape{2, 64}, 10, 5) == 0);  // tiny batch: GEMV paths
}

TEST_CASE("a benchmark-sized MLP step allocates nothing in steady state", "[allocation]") {
  auto layers = [] {
    return std::vector<LayerPtr<float>>{std::make_shared<Dense<float>>(784, 800),
                                        std::make_shared<BatchNorm<float>>(800, false),
                                        std::make_shared<ReLU<float>>(), std::make_shared<Dense<float>>(800, 10)};
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

TEST_CASE("focusing layers allocate nothing in steady state", "[allocation]") {
  auto focus1d = [] {
    return std::vector<LayerPtr<float>>{std::make_shared<FocusDense<float>>(196, 64), std::make_shared<ReLU<float>>(),
                                        std::make_shared<Dense<float>>(64, 10)};
  };
  CHECK(mallocs_per_steps(focus1d, Shape{32, 196}, 10, 5) == 0);
  auto focus2d = [] {
    return std::vector<LayerPtr<float>>{std::make_shared<FocusDense2D<float>>(14, 14, 32),
                                        std::make_shared<Dense<float>>(32, 10)};
  };
  CHECK(mallocs_per_steps(focus2d, Shape{32, 196}, 10, 5) == 0);
  // Large enough for the multi-threaded block products, with shuffled narrow foci: the rows are
  // re-sorted every pass and Y's and G's columns permuted.
  auto shuffled = [] {
    FocusOptions o;
    o.mu_init = "values";
    for (int j = 0; j < 300; ++j) o.mu_values.push_back(((j * 37) % 300) / 299.0);
    o.sigma_init = 0.02;
    return std::vector<LayerPtr<float>>{std::make_shared<FocusDense<float>>(196, 300, o), std::make_shared<ReLU<float>>(),
                                        std::make_shared<FocusDense<float>>(300, 10)};
  };
  CHECK(mallocs_per_steps(shuffled, Shape{64, 196}, 10, 5) == 0);
}

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

TEST_CASE("self-organizing network batches allocate nothing in steady state", "[allocation][selforg]") {
  // One epoch allocates O(1) bookkeeping (its loss vector); the count must not grow with batches.
  selforg::MapLayout L;
  L.height = 20;
  L.width = 40;
  L.image_height = L.image_width = 20;
  L.unit_locations = {{0, 20}, {0, 30}, {10, 20}};
  const selforg::Fields fields = {{{0, 0}, {0, 10}}, {{10, 0}, {10, 10}}, {{0, 20}, {0, 30}}};
  selforg::TrainOptions o;
  o.batch_size = 16;
  selforg::SelfOrgNetwork<float> net(L, fields, o, 1);
  std::vector<float> images(64 * 400, 0.5f);
  net.train_epoch(images.data(), 64);  // warm-up sizes every buffer
  auto count = [&](int64_t n) {
    g_mallocs = 0;
    g_counting = true;
    net.train_epoch(images.data(), n);
    g_counting = false;
    return g_mallocs.load();
  };
  const long one_batch = count(16), four_batches = count(64);
  CHECK(four_batches == one_batch);
}

TEST_CASE("flexible layers allocate nothing in steady state", "[allocation]") {
  for (const char* mode : {"learned", "random", "baseline"}) {
    CAPTURE(mode);
    auto layers = [mode] {
      FlexibleOptions o;
      o.out_channels = 12;
      o.kernel_h = o.kernel_w = o.pool_kernel = 5;
      o.input_h = o.input_w = 28;
      o.threshold_mode = mode;
      return std::vector<LayerPtr<float>>{std::make_shared<FlexibleConv2d<float>>(o), std::make_shared<Sigmoid<float>>(),
                                          std::make_shared<Flatten<float>>(), std::make_shared<Dense<float>>(6912, 10)};
    };
    CHECK(mallocs_per_steps(layers, Shape{16, 1, 28, 28}, 10, 3) == 0);
  }
}

TEST_CASE("NegLU-family layers allocate nothing in steady state", "[allocation][neglu]") {
  UnitSelection sel;
  sel.fraction = 0.25;
  for (MixLUMode mode : {MixLUMode::Fixed, MixLUMode::RandomPerElement}) {
    auto layers = [&sel, mode] {
      return std::vector<LayerPtr<float>>{std::make_shared<Dense<float>>(20, 32),
                                          std::make_shared<MixLU<float>>(std::vector<int64_t>{32}, sel, mode),
                                          std::make_shared<MinMaxout<float>>(16, 2, sel),
                                          std::make_shared<LearnedActivation<float>>(16, 1.0, 0.0),
                                          std::make_shared<Dense<float>>(16, 4)};
    };
    CHECK(mallocs_per_steps(layers, Shape{8, 20}, 4, 5) == 0);
  }
}

TEST_CASE("the allocation counter sees allocations", "[allocation]") {
  g_mallocs = 0;
  g_counting = true;
  std::vector<float>* v = new std::vector<float>(1000);
  g_counting = false;
  delete v;
  CHECK(g_mallocs.load() >= 2);
}
#endif
