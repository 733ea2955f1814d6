// Sequential: training on a tiny separable problem, seed determinism, batch size 1, input
// gradients against finite differences, and shape/argument validation.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>

#include "core/sequential.h"
#include "gradcheck.h"
#include "layers/activations.h"
#include "layers/batchnorm.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/pooling.h"

using namespace bionn;
using namespace bionn_test;

namespace {

// Two Gaussian blobs in 2-D, centred at (-1.5, -1.5) and (1.5, 1.5): linearly separable.
template <typename T>
void make_blobs(int64_t n, uint64_t seed, std::vector<T>& x, std::vector<T>& y) {
  Rng rng(seed);
  x.resize(static_cast<size_t>(2 * n));
  y.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(i % 2);
    const double c = label ? 1.5 : -1.5;
    x[static_cast<size_t>(2 * i)] = static_cast<T>(rng.normal(c, 0.5));
    x[static_cast<size_t>(2 * i + 1)] = static_cast<T>(rng.normal(c, 0.5));
    y[static_cast<size_t>(i)] = static_cast<T>(label);
  }
}

template <typename T>
DataView<T> view(const std::vector<T>& v, Shape s) {
  DataView<T> d;
  d.data = v.data();
  d.shape = s;
  return d;
}

template <typename T>
std::unique_ptr<Sequential<T>> mlp(uint64_t seed, bool with_dropout = true) {
  Rng init(seed);
  std::vector<LayerPtr<T>> layers = {std::make_shared<Dense<T>>(2, 16, true, "torch", init),
                                     std::make_shared<ReLU<T>>()};
  if (with_dropout) layers.push_back(std::make_shared<Dropout<T>>(0.1));
  layers.push_back(std::make_shared<Dense<T>>(16, 2, true, "torch", init));
  auto model = std::make_unique<Sequential<T>>(layers, seed);
  model->reset_parameters();  // initialisation from the model's own engine
  return model;
}

template <typename T>
std::vector<ParamGroup<T>> one_group(Sequential<T>& m, double lr) {
  ParamGroup<T> g;
  g.params = m.parameters();
  g.options.lr = lr;
  return {g};
}

template <typename T>
std::vector<T> flat_params(Sequential<T>& m) {
  std::vector<T> out;
  for (auto* p : m.parameters()) out.insert(out.end(), p->value.data(), p->value.data() + p->value.size());
  return out;
}

}  // namespace

TEST_CASE("fit learns a tiny separable problem", "[sequential][fit]") {
  std::vector<float> x, y, vx, vy;
  make_blobs<float>(128, 81, x, y);
  make_blobs<float>(64, 82, vx, vy);
  auto model = mlp<float>(83);
  CrossEntropyLoss<float> loss;
  Adam<float> opt(one_group(*model, 0.02));
  const DataView<float> X = view(x, Shape{128, 2}), Y = view(y, Shape{128});
  const DataView<float> VX = view(vx, Shape{64, 2}), VY = view(vy, Shape{64});
  const EpochRecord before = model->evaluate(VX, VY, loss, 1000);
  FitOptions fo;
  fo.epochs = 15;
  fo.batch_size = 16;
  int batches_seen = 0;
  FitHooks hooks;
  hooks.on_batch = [&](int, int64_t, int64_t per_epoch, double value) {
    CHECK(per_epoch == 8);
    CHECK(std::isfinite(value));
    ++batches_seen;
  };
  const auto history = model->fit(X, Y, loss, opt, fo, &VX, &VY, nullptr, hooks);
  REQUIRE(history.size() == 15);
  CHECK(batches_seen == 15 * 8);
  CHECK(opt.steps_taken() == 15 * 8);
  CHECK(history.back().at("epoch") == 15);
  CHECK(history.back().at("loss") < 0.5 * history.front().at("loss"));
  CHECK(history.back().at("accuracy") >= 0.95);
  CHECK(history.back().at("val_accuracy") >= 0.95);
  const EpochRecord after = model->evaluate(VX, VY, loss, 7);  // odd batch size: a short last batch
  CHECK(after.at("loss") < 0.5 * before.at("loss"));
  CHECK(after.at("accuracy") >= 0.95);
  CHECK(after.at("loss") == Approx(history.back().at("val_loss")).epsilon(1e-5));

  // predict returns the logits of every sample, whatever the batch size.
  const Tensor<float> all = model->predict(VX, 64);
  const Tensor<float> chunks = model->predict(VX, 5);
  REQUIRE(all.shape() == Shape{64, 2});
  REQUIRE(chunks.shape() == Shape{64, 2});
  for (int64_t i = 0; i < all.size(); ++i) CHECK(chunks[i] == Approx(all[i]).margin(1e-5));
}

TEST_CASE("fit: on_epoch can stop early and schedulers step once per epoch", "[sequential][fit]") {
  std::vector<double> x, y;
  make_blobs<double>(32, 84, x, y);
  auto model = mlp<double>(85);
  CrossEntropyLoss<double> loss;
  auto opt = std::make_shared<SGD<double>>(one_group(*model, 0.1));
  StepLR<double> sched(opt, 1, 0.5);
  FitOptions fo;
  fo.epochs = 10;
  fo.batch_size = 8;
  FitHooks hooks;
  hooks.on_epoch = [](const EpochRecord& r) { return r.at("epoch") >= 3; };
  const auto history =
      model->fit(view(x, Shape{32, 2}), view(y, Shape{32}), loss, *opt, fo, nullptr, nullptr, &sched, hooks);
  REQUIRE(history.size() == 3);
  CHECK(history[0].at("lr") == Approx(0.1));
  CHECK(history[1].at("lr") == Approx(0.05));
  CHECK(history[2].at("lr") == Approx(0.025));
  CHECK(sched.epoch() == 3);
}

TEST_CASE("same seed gives bit-identical weights after fit", "[sequential][fit][determinism]") {
  std::vector<float> x, y;
  make_blobs<float>(64, 86, x, y);
  auto train = [&](uint64_t seed) {
    auto model = mlp<float>(seed);  // dropout: the mask stream depends on the seed too
    CrossEntropyLoss<float> loss;
    Adam<float> opt(one_group(*model, 0.01));
    FitOptions fo;
    fo.epochs = 3;
    fo.batch_size = 10;
    model->fit(view(x, Shape{64, 2}), view(y, Shape{64}), loss, opt, fo);
    return flat_params(*model);
  };
  const auto a = train(7), b = train(7), c = train(8);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  CHECK(a != c);

  // reseed + reset_parameters reproduces the initial weights.
  auto m = mlp<float>(9);
  const auto init = flat_params(*m);
  m->reseed(9);
  m->reset_parameters();
  CHECK(flat_params(*m) == init);
}

TEST_CASE("fit works with batch size 1 and with batches larger than the data", "[sequential][fit]") {
  std::vector<double> x, y;
  make_blobs<double>(12, 87, x, y);
  for (const int64_t bs : {int64_t(1), int64_t(100)}) {
    INFO("batch size " << bs);
    auto model = mlp<double>(88);
    const auto before = flat_params(*model);
    CrossEntropyLoss<double> loss;
    SGD<double> opt(one_group(*model, 0.05));
    FitOptions fo;
    fo.epochs = 2;
    fo.batch_size = bs;
    const auto history = model->fit(view(x, Shape{12, 2}), view(y, Shape{12}), loss, opt, fo);
    REQUIRE(history.size() == 2);
    CHECK(std::isfinite(history.back().at("loss")));
    CHECK(opt.steps_taken() == (bs == 1 ? 24 : 2));
    CHECK(flat_params(*model) != before);
  }
}

TEST_CASE("drop_last skips the short final batch", "[sequential][fit]") {
  std::vector<double> x, y;
  make_blobs<double>(10, 89, x, y);
  auto model = mlp<double>(90, false);
  CrossEntropyLoss<double> loss;
  SGD<double> opt(one_group(*model, 0.05));
  FitOptions fo;
  fo.epochs = 1;
  fo.batch_size = 4;
  fo.drop_last = true;
  model->fit(view(x, Shape{10, 2}), view(y, Shape{10}), loss, opt, fo);
  CHECK(opt.steps_taken() == 2);
}

TEST_CASE("A convolutional model trains end to end", "[sequential][fit]") {
  // 1x6x6 images: class 1 has a bright left half, class 0 a bright right half.
  const int64_t n = 32;
  std::vector<float> x(static_cast<size_t>(n * 36)), y(static_cast<size_t>(n));
  Rng data(91);
  for (int64_t i = 0; i < n; ++i) {
    y[static_cast<size_t>(i)] = static_cast<float>(i % 2);
    for (int64_t p = 0; p < 36; ++p) {
      const bool left = (p % 6) < 3;
      const double base = (left == (i % 2 == 1)) ? 1.0 : 0.0;
      x[static_cast<size_t>(i * 36 + p)] = static_cast<float>(base + data.normal(0, 0.2));
    }
  }
  Rng init(92);
  std::vector<LayerPtr<float>> layers = {std::make_shared<Conv2d<float>>(1, 4, 3, 3, 1, 1, true, "torch", init),
                                         std::make_shared<BatchNorm<float>>(4, true),
                                         std::make_shared<ReLU<float>>(),
                                         std::make_shared<Pool2d<float>>(Pool2d<float>::Mode::Max, 2, 2, 0),
                                         std::make_shared<Dropout<float>>(0.1, true),
                                         std::make_shared<Flatten<float>>(),
                                         std::make_shared<Dense<float>>(36, 2, true, "torch", init)};
  Sequential<float> model(layers, 93);
  CrossEntropyLoss<float> loss;
  Adam<float> opt(one_group(model, 0.01));
  FitOptions fo;
  fo.epochs = 10;
  fo.batch_size = 8;
  const auto history = model.fit(view(x, Shape{n, 1, 6, 6}), view(y, Shape{n}), loss, opt, fo);
  CHECK(history.back().at("loss") < history.front().at("loss"));
  const EpochRecord r = model.evaluate(view(x, Shape{n, 1, 6, 6}), view(y, Shape{n}), loss, 100);
  CHECK(r.at("accuracy") >= 0.9);
}

TEST_CASE("input_gradient matches finite differences and leaves parameter grads untouched", "[sequential][gradcheck]") {
  Rng init(94);
  std::vector<LayerPtr<double>> layers = {std::make_shared<Dense<double>>(3, 5, true, "torch", init),
                                          std::make_shared<Tanh<double>>(),
                                          std::make_shared<Dropout<double>>(0.5),  // identity in eval mode
                                          std::make_shared<Dense<double>>(5, 3, true, "torch", init)};
  Sequential<double> model(layers, 95);
  Rng rng(96);
  Tensor<double> x = random_tensor(Shape{4, 3}, rng, -2, 2);
  const std::vector<double> y = {0, 2, 1, 2};
  CrossEntropyLoss<double> loss;

  // Sentinel values in the parameter gradients must survive.
  std::vector<std::vector<double>> sentinel;
  for (auto* p : model.parameters()) {
    for (int64_t i = 0; i < p->grad.size(); ++i) p->grad[i] = 0.125 * static_cast<double>(i + 1);
    sentinel.push_back(to_vector(p->grad));
  }
  DataView<double> X;
  X.data = x.data();
  X.shape = x.shape();
  const Tensor<double> g = model.input_gradient(X, view(y, Shape{4}), loss);
  REQUIRE(g.shape() == x.shape());
  const auto params = model.parameters();
  for (size_t k = 0; k < params.size(); ++k) CHECK(to_vector(params[k]->grad) == sentinel[k]);

  Tensor<double> labels = make_tensor(Shape{4}, {0, 2, 1, 2});
  auto f = [&]() { return loss.forward(model.forward(x, false), labels); };
  const std::vector<double> numeric = numeric_gradient(f, x.data(), x.size(), 1e-5);
  GradCheckResult r;
  for (int64_t i = 0; i < x.size(); ++i)
    r.compare("input", i, g[i], numeric[static_cast<size_t>(i)], GradCheckOptions());
  INFO(r.summary());
  CHECK(r.ok);
  // A gradient of all zeros would pass a loose check; this one is not.
  double norm = 0;
  for (int64_t i = 0; i < g.size(); ++i) norm += g[i] * g[i];
  CHECK(norm > 1e-4);
}

TEST_CASE("Sequential backward chains the layers' gradients", "[sequential][gradcheck]") {
  Rng init(97);
  std::vector<LayerPtr<double>> layers = {std::make_shared<Conv2d<double>>(2, 3, 3, 3, 2, 1, true, "torch", init),
                                          std::make_shared<BatchNorm<double>>(3, true),
                                          std::make_shared<ELU<double>>(),
                                          std::make_shared<Pool2d<double>>(Pool2d<double>::Mode::Avg, 2, 1, 0),
                                          std::make_shared<Flatten<double>>(),
                                          std::make_shared<Dense<double>>(12, 2, true, "torch", init)};
  Sequential<double> model(layers, 98);
  Rng rng(99);
  Tensor<double> x = random_tensor(Shape{3, 2, 5, 6}, rng);
  const Tensor<double>& out = model.forward(x, true);
  REQUIRE(out.shape() == Shape{3, 2});
  Tensor<double> w = random_tensor(out.shape(), rng);
  for (auto* p : model.parameters()) p->grad.zero();
  const std::vector<double> dx = to_vector(model.backward(w, true));
  auto f = [&]() {
    const Tensor<double>& o = model.forward(x, true);
    double s = 0;
    for (int64_t i = 0; i < o.size(); ++i) s += o[i] * w[i];
    return s;
  };
  const auto numeric = numeric_gradient(f, x.data(), x.size(), 1e-5);
  GradCheckResult r;
  for (size_t i = 0; i < dx.size(); ++i)
    r.compare("input", static_cast<int64_t>(i), dx[i], numeric[i], GradCheckOptions());
  INFO(r.summary());
  CHECK(r.checked == x.size());
  CHECK(r.ok);
}

TEST_CASE("Sequential shape and argument errors throw invalid_argument", "[sequential][errors]") {
  CHECK_THROWS_AS(Sequential<double>({}, 1), std::invalid_argument);
  CHECK_THROWS_AS(Sequential<double>({nullptr}, 1), std::invalid_argument);

  auto model = mlp<double>(100);
  CrossEntropyLoss<double> loss;
  SGD<double> opt(one_group(*model, 0.1));
  FitOptions fo;
  std::vector<double> x(30, 0.5), y = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, x3(30, 0.5);
  const DataView<double> X = view(x, Shape{10, 3});  // the model expects 2 features
  const DataView<double> X2 = view(x, Shape{15, 2}), Y = view(y, Shape{10});

  CHECK_THROWS_AS(model->fit(X, Y, loss, opt, fo), std::invalid_argument);
  CHECK_THROWS_AS(model->fit(X2, Y, loss, opt, fo), std::invalid_argument);  // 15 vs 10 samples
  CHECK_THROWS_AS(model->predict(X, 4), std::invalid_argument);
  CHECK_THROWS_AS(model->evaluate(X, Y, loss, 4), std::invalid_argument);
  CHECK_THROWS_AS(model->input_gradient(X, Y, loss), std::invalid_argument);

  const DataView<double> Xok = view(x, Shape{10, 2});
  FitOptions bad = fo;
  bad.batch_size = 0;
  CHECK_THROWS_AS(model->fit(Xok, Y, loss, opt, bad), std::invalid_argument);
  bad = fo;
  bad.epochs = -1;
  CHECK_THROWS_AS(model->fit(Xok, Y, loss, opt, bad), std::invalid_argument);
  CHECK_THROWS_AS(model->fit(Xok, Y, loss, opt, fo, &Xok, nullptr), std::invalid_argument);
  CHECK_THROWS_AS(model->predict(Xok, 0), std::invalid_argument);
  CHECK_THROWS_AS(model->evaluate(Xok, Y, loss, 0), std::invalid_argument);
  DataView<double> empty;
  CHECK_THROWS_AS(model->predict(empty, 4), std::invalid_argument);
  CHECK_THROWS_AS(model->fit(empty, empty, loss, opt, fo), std::invalid_argument);

  // Labels out of range and targets of the wrong shape.
  std::vector<double> bad_labels = {0, 1, 0, 1, 0, 1, 0, 1, 0, 5};
  CHECK_THROWS_AS(model->fit(Xok, view(bad_labels, Shape{10}), loss, opt, fo), std::invalid_argument);
  MSELoss<double> mse;
  CHECK_THROWS_AS(model->evaluate(Xok, Y, mse, 4), std::invalid_argument);  // (N,) vs (N, 2)

  // A valid call still works afterwards.
  CHECK_NOTHROW(model->fit(Xok, Y, loss, opt, fo));

  // A batch of 1 in training through BatchNorm1d is rejected, not crashed on.
  Rng init(101);
  Sequential<double> bn_model(
      {std::make_shared<Dense<double>>(2, 3, true, "torch", init), std::make_shared<BatchNorm<double>>(3, false)}, 1);
  Tensor<double> one(Shape{1, 2}, 1.0);
  CHECK_THROWS_AS(bn_model.forward(one, true), std::invalid_argument);
  CHECK_NOTHROW(bn_model.forward(one, false));
}

TEST_CASE("fit with replacement draws each step's sample uniformly with replacement", "[sequential]") {
  // One weight, y = 0: every step is w -= lr * 2 (w x_i - y_i) x_i for the drawn sample i. The
  // expected trajectory replays the model's random engine (Rng::below(n) once per step).
  Rng init(1);
  auto dense = std::make_shared<Dense<double>>(1, 1, false, "torch", init);
  Sequential<double> model({dense}, 42);
  dense->weight().value[0] = 0.5;
  const std::vector<double> x = {1.0, 2.0, -1.5, 0.25, 3.0}, y = {0.3, -0.2, 0.1, 0.0, 0.4};
  ParamGroup<double> g;
  g.params = model.parameters();
  g.options.lr = 0.01;
  SGD<double> opt({g});
  MSELoss<double> loss;
  FitOptions fo;
  fo.epochs = 3;
  fo.batch_size = 1;
  fo.replacement = true;
  Rng replay = model.rng();
  double w = 0.5;
  std::vector<int> counts(5, 0);
  bool repeated_in_first_epoch = false;
  for (int e = 0; e < 3; ++e) {
    std::vector<int> seen(5, 0);
    for (int s = 0; s < 5; ++s) {
      const auto i = static_cast<size_t>(replay.below(5));
      ++counts[i];
      if (++seen[i] > 1 && e == 0) repeated_in_first_epoch = true;
      w -= 0.01 * (2.0 * (w * x[i] - y[i]) * x[i]);
    }
  }
  const auto history = model.fit(view(x, Shape{5, 1}), view(y, Shape{5, 1}), loss, opt, fo);
  CHECK(history.size() == 3);
  CHECK(dense->weight().value[0] == Approx(w).epsilon(1e-13));
  CHECK(repeated_in_first_epoch);  // with replacement (for this seed a sample repeats within an epoch)
  // The same seed reproduces the run; shuffled passes give another trajectory.
  dense->weight().value[0] = 0.5;
  model.reseed(42);
  model.fit(view(x, Shape{5, 1}), view(y, Shape{5, 1}), loss, opt, fo);
  CHECK(dense->weight().value[0] == Approx(w).epsilon(1e-13));
  dense->weight().value[0] = 0.5;
  model.reseed(42);
  fo.replacement = false;
  model.fit(view(x, Shape{5, 1}), view(y, Shape{5, 1}), loss, opt, fo);
  CHECK(dense->weight().value[0] != Approx(w).epsilon(1e-9));
}
