// Concurrent use of one Sequential (replicas for inference, UsageGuard for writers) and
// cooperative cancellation (core/interrupt.h): an interrupted step leaves the model as it was.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "core/attacks.h"
#include "core/interrupt.h"
#include "core/sequential.h"
#include "layers/activations.h"
#include "layers/batchnorm.h"
#include "layers/dense.h"

using namespace bionn;

namespace {

std::unique_ptr<Sequential<double>> net(uint64_t seed) {
  Rng init(seed);
  std::vector<LayerPtr<double>> layers = {
      std::make_shared<Dense<double>>(6, 32, true, "torch", init), std::make_shared<BatchNorm<double>>(32, false),
      std::make_shared<ReLU<double>>(), std::make_shared<Dense<double>>(32, 3, true, "torch", init)};
  return std::make_unique<Sequential<double>>(layers, seed);
}

std::vector<double> data(int64_t n, int64_t row, uint64_t seed) {
  Rng r(seed);
  std::vector<double> v(static_cast<size_t>(n * row));
  for (auto& e : v) e = r.normal(0.0, 1.0);
  return v;
}

std::vector<double> labels(int64_t n) {
  std::vector<double> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) y[static_cast<size_t>(i)] = static_cast<double>(i % 3);
  return y;
}

DataView<double> view(const std::vector<double>& v, Shape s) { return DataView<double>{v.data(), s}; }

std::vector<double> snapshot(Sequential<double>& m) {
  std::vector<double> out;
  for (auto* p : m.parameters()) out.insert(out.end(), p->value.data(), p->value.data() + p->value.size());
  for (auto& l : m.layers())
    for (auto& b : l->buffers()) out.insert(out.end(), b.second->data(), b.second->data() + b.second->size());
  return out;
}

}  // namespace

TEST_CASE("concurrent predict and pgd on one model equal the serial results", "[threads]") {
  auto model = net(1);
  const int64_t n = 64;
  const auto x = data(n, 6, 2), y = labels(n);
  CrossEntropyLoss<double> loss;
  SGD<double> opt({ParamGroup<double>{model->parameters(), {}}});
  model->fit(view(x, Shape({n, 6})), view(y, Shape({n})), loss, opt, FitOptions());
  const Tensor<double> serial = model->predict(view(x, Shape({n, 6})), 16);
  AttackOptions ao;
  ao.steps = 3;
  ao.clip_min = -10;
  ao.clip_max = 10;
  const Tensor<double> serial_adv = pgd_attack(*model, view(x, Shape({n, 6})), view(y, Shape({n})), loss, ao);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int r = 0; r < 20; ++r) {
        const Tensor<double> out = model->predict(view(x, Shape({n, 6})), 16);
        if (std::memcmp(out.data(), serial.data(), sizeof(double) * static_cast<size_t>(out.size())) != 0) ++mismatches;
        const Tensor<double> adv = pgd_attack(*model, view(x, Shape({n, 6})), view(y, Shape({n})), loss, ao);
        if (std::memcmp(adv.data(), serial_adv.data(), sizeof(double) * static_cast<size_t>(adv.size())) != 0)
          ++mismatches;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(mismatches == 0);
  CHECK(model->usage().idle());
}

TEST_CASE("a writer is rejected while a reader runs, and the reverse", "[threads]") {
  UsageGuard g;
  {
    auto r = g.read("predict");
    std::string msg;
    std::thread other([&] {
      try {
        auto w = g.write("fit");
      } catch (const std::runtime_error& e) {
        msg = e.what();
      }
    });
    other.join();
    CHECK(msg.rfind("fit: the model is in use by predict in another thread", 0) == 0);
  }
  {
    auto w = g.write("fit");
    auto nested = g.write("train_step");  // the training thread itself may nest
    auto r = g.read("predict");           // and predict from a callback
    std::string msg;
    std::thread other([&] {
      try {
        auto r2 = g.read("evaluate");
      } catch (const std::runtime_error& e) {
        msg = e.what();
      }
    });
    other.join();
    CHECK(msg.rfind("evaluate: the model is in use by fit in another thread", 0) == 0);
  }
  CHECK(g.idle());
}

namespace {
int polls_left = 0;
// Throws at the (polls_left + 1)-th poll; clears the throttle so every poll point runs the check.
void eager_countdown() {
  detail::interrupt_state().next = {};
  if (--polls_left < 0) throw std::runtime_error("interrupted");
}
}  // namespace

TEST_CASE("an interrupted training step leaves weights, buffers and gradients as before", "[threads][interrupt]") {
  const int64_t n = 32;
  const auto x = data(n, 6, 4), y = labels(n);
  CrossEntropyLoss<double> loss;
  // Interrupt at every poll point of the second step in turn: forward, backward, between layers.
  for (int at = 0; at < 8; ++at) {
    auto model = net(3);
    SGD<double> opt({ParamGroup<double>{model->parameters(), {}}});
    Tensor<double> tx(Shape({n, 6})), ty(Shape({n}));
    std::memcpy(tx.data(), x.data(), sizeof(double) * x.size());
    std::memcpy(ty.data(), y.data(), sizeof(double) * y.size());
    model->train_step(tx, ty, loss, opt);
    const auto before = snapshot(*model);
    polls_left = at;
    bool thrown = false;
    try {
      InterruptScope scope(&eager_countdown);
      detail::interrupt_state().next = {};
      model->train_step(tx, ty, loss, opt);
    } catch (const std::runtime_error&) {
      thrown = true;
    }
    if (!thrown) continue;  // fewer poll points than `at`
    CHECK(snapshot(*model) == before);
    for (auto* p : model->parameters())
      for (int64_t i = 0; i < p->grad.size(); ++i) CHECK(p->grad[i] == 0.0);
    CHECK(model->usage().idle());
    CHECK(std::isfinite(model->predict(view(x, Shape({n, 6})), 8)[0]));
  }
}
