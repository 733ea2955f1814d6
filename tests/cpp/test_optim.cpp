// Optimizers and schedulers against hand-written references of PyTorch's documented update rules
// (torch.optim.SGD / Adam / AdamW / RMSprop), over one and several steps on small vectors.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>

#include "core/optim.h"
#include "gradcheck.h"

using namespace bionn;
using namespace bionn_test;

namespace {

// ---- References, one instance per parameter tensor; t is the 1-based step number. ----

struct RefSGD {
  GroupOptions o;
  std::vector<double> buf;
  void step(std::vector<double>& p, std::vector<double> g, int t) {
    if (buf.empty()) buf.assign(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      if (o.weight_decay != 0) g[i] += o.weight_decay * p[i];
      if (o.momentum != 0) {
        buf[i] = t > 1 ? o.momentum * buf[i] + (1 - o.dampening) * g[i] : g[i];
        g[i] = o.nesterov ? g[i] + o.momentum * buf[i] : buf[i];
      }
      p[i] -= o.lr * g[i];
    }
  }
};

struct RefAdam {
  GroupOptions o;
  std::vector<double> m, v, vmax;
  void step(std::vector<double>& p, std::vector<double> g, int t) {
    if (m.empty()) m.assign(p.size(), 0.0), v.assign(p.size(), 0.0), vmax.assign(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      if (o.decoupled_weight_decay)
        p[i] -= o.lr * o.weight_decay * p[i];
      else
        g[i] += o.weight_decay * p[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
      const double mhat = m[i] / (1 - std::pow(o.beta1, t));
      vmax[i] = std::max(vmax[i], v[i]);
      const double vhat = (o.amsgrad ? vmax[i] : v[i]) / (1 - std::pow(o.beta2, t));
      p[i] -= o.lr * mhat / (std::sqrt(vhat) + o.eps);
    }
  }
};

struct RefRMSprop {
  GroupOptions o;
  std::vector<double> sq, gavg, buf;
  void step(std::vector<double>& p, std::vector<double> g, int) {
    if (sq.empty()) sq.assign(p.size(), 0.0), gavg.assign(p.size(), 0.0), buf.assign(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      g[i] += o.weight_decay * p[i];
      sq[i] = o.alpha * sq[i] + (1 - o.alpha) * g[i] * g[i];
      double vt = sq[i];
      if (o.centered) {
        gavg[i] = o.alpha * gavg[i] + (1 - o.alpha) * g[i];
        vt -= gavg[i] * gavg[i];
      }
      const double denom = std::sqrt(vt) + o.eps;
      if (o.momentum > 0) {
        buf[i] = o.momentum * buf[i] + g[i] / denom;
        p[i] -= o.lr * buf[i];
      } else {
        p[i] -= o.lr * g[i] / denom;
      }
    }
  }
};

// A gradient that depends on the current parameters, so later steps see new gradients
// (it shrinks as p approaches c, which also makes Adam's v decrease and AMSGrad matter).
std::vector<double> grad_of(const std::vector<double>& p) {
  std::vector<double> g(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const double c = 0.3 * static_cast<double>(i) - 0.5;
    g[i] = (0.5 + 0.5 * static_cast<double>(i)) * (p[i] - c) + (i % 2 ? 0.05 : -0.02);
  }
  return g;
}

template <class Opt, class Ref>
std::vector<double> compare_with_reference(const GroupOptions& o, int steps, double tol = 1e-12) {
  Parameter<double> a("a", "weight", Shape{5}), b("b", "bias", Shape{2, 2});
  const double a0[5] = {0.7, -1.2, 0.0, 2.5, -0.3}, b0[4] = {1.0, -0.5, 0.25, 3.0};
  for (int i = 0; i < 5; ++i) a.value[i] = a0[i];
  for (int i = 0; i < 4; ++i) b.value[i] = b0[i];
  ParamGroup<double> group;
  group.params = {&a, &b};
  group.options = o;
  Opt opt({group});
  Ref ra{o}, rb{o};
  std::vector<double> pa(a0, a0 + 5), pb(b0, b0 + 4);
  for (int t = 1; t <= steps; ++t) {
    opt.zero_grad();
    const auto ga = grad_of(to_vector(a.value)), gb = grad_of(to_vector(b.value));
    for (int64_t i = 0; i < a.grad.size(); ++i) a.grad[i] = ga[static_cast<size_t>(i)];
    for (int64_t i = 0; i < b.grad.size(); ++i) b.grad[i] = gb[static_cast<size_t>(i)];
    opt.step();
    ra.step(pa, grad_of(pa), t);
    rb.step(pb, grad_of(pb), t);
    INFO("step " << t);
    for (size_t i = 0; i < pa.size(); ++i)
      REQUIRE(a.value[static_cast<int64_t>(i)] == Approx(pa[i]).epsilon(tol).margin(1e-14));
    for (size_t i = 0; i < pb.size(); ++i)
      REQUIRE(b.value[static_cast<int64_t>(i)] == Approx(pb[i]).epsilon(tol).margin(1e-14));
  }
  CHECK(opt.steps_taken() == steps);
  std::vector<double> out = to_vector(a.value);
  const auto vb = to_vector(b.value);
  out.insert(out.end(), vb.begin(), vb.end());
  // The parameters really moved.
  CHECK(out[0] != a0[0]);
  return out;
}

GroupOptions with(std::function<void(GroupOptions&)> f) {
  GroupOptions o;
  f(o);
  return o;
}

}  // namespace

TEST_CASE("SGD matches PyTorch's update rule", "[optim][sgd]") {
  const int steps = GENERATE(1, 7);
  CAPTURE(steps);
  SECTION("plain") {
    compare_with_reference<SGD<double>, RefSGD>(with([](GroupOptions& o) { o.lr = 0.1; }), steps);
  }
  SECTION("momentum") {
    compare_with_reference<SGD<double>, RefSGD>(with([](GroupOptions& o) { o.lr = 0.1, o.momentum = 0.9; }), steps);
  }
  SECTION("momentum + dampening") {
    compare_with_reference<SGD<double>, RefSGD>(
        with([](GroupOptions& o) { o.lr = 0.05, o.momentum = 0.8, o.dampening = 0.3; }), steps);
  }
  SECTION("nesterov") {
    compare_with_reference<SGD<double>, RefSGD>(
        with([](GroupOptions& o) { o.lr = 0.1, o.momentum = 0.9, o.nesterov = true; }), steps);
  }
  SECTION("weight decay, with and without momentum") {
    compare_with_reference<SGD<double>, RefSGD>(with([](GroupOptions& o) { o.lr = 0.1, o.weight_decay = 0.05; }),
                                                steps);
    compare_with_reference<SGD<double>, RefSGD>(
        with([](GroupOptions& o) { o.lr = 0.1, o.weight_decay = 0.05, o.momentum = 0.5, o.nesterov = true; }), steps);
  }
}

TEST_CASE("SGD first step by hand", "[optim][sgd]") {
  // p = 1, g = 0.5, wd = 0.1, momentum 0.9 nesterov: d = 0.6, buf = 0.6, d = 0.6 + 0.54 = 1.14
  Parameter<double> p("w", "weight", Shape{1});
  p.value[0] = 1.0;
  ParamGroup<double> g;
  g.params = {&p};
  g.options.lr = 0.5;
  g.options.weight_decay = 0.1;
  g.options.momentum = 0.9;
  g.options.nesterov = true;
  SGD<double> opt({g});
  p.grad[0] = 0.5;
  opt.step();
  CHECK(p.value[0] == Approx(1.0 - 0.5 * 1.14).epsilon(1e-14));
  // second step, same gradient: d = 0.5 + 0.1 * 0.43 = 0.543; buf = 0.9 * 0.6 + 0.543 = 1.083
  p.grad[0] = 0.5;
  opt.step();
  CHECK(p.value[0] == Approx(0.43 - 0.5 * (0.543 + 0.9 * 1.083)).epsilon(1e-14));
}

TEST_CASE("Adam and AdamW match PyTorch's update rule", "[optim][adam]") {
  const int steps = GENERATE(1, 10);
  CAPTURE(steps);
  SECTION("defaults") {
    compare_with_reference<Adam<double>, RefAdam>(with([](GroupOptions& o) { o.lr = 0.01; }), steps);
  }
  SECTION("custom betas and eps") {
    compare_with_reference<Adam<double>, RefAdam>(
        with([](GroupOptions& o) { o.lr = 0.05, o.beta1 = 0.5, o.beta2 = 0.8, o.eps = 1e-3; }), steps);
  }
  SECTION("L2 weight decay") {
    compare_with_reference<Adam<double>, RefAdam>(with([](GroupOptions& o) { o.lr = 0.05, o.weight_decay = 0.1; }),
                                                  steps);
  }
  SECTION("AdamW decoupled weight decay") {
    compare_with_reference<Adam<double>, RefAdam>(
        with([](GroupOptions& o) { o.lr = 0.05, o.weight_decay = 0.1, o.decoupled_weight_decay = true; }), steps);
  }
  SECTION("AMSGrad") {
    compare_with_reference<Adam<double>, RefAdam>(
        with([](GroupOptions& o) { o.lr = 0.2, o.beta2 = 0.8, o.amsgrad = true; }), steps);
  }
}

TEST_CASE("AMSGrad and AdamW really change the trajectory", "[optim][adam]") {
  // Guards the reference comparison above against options that are silently ignored.
  const auto plain =
      compare_with_reference<Adam<double>, RefAdam>(with([](GroupOptions& o) { o.lr = 0.2, o.beta2 = 0.8; }), 10);
  const auto ams = compare_with_reference<Adam<double>, RefAdam>(
      with([](GroupOptions& o) { o.lr = 0.2, o.beta2 = 0.8, o.amsgrad = true; }), 10);
  CHECK(plain != ams);
  const auto l2 = compare_with_reference<Adam<double>, RefAdam>(
      with([](GroupOptions& o) { o.lr = 0.05, o.weight_decay = 0.5; }), 5);
  const auto decoupled = compare_with_reference<Adam<double>, RefAdam>(
      with([](GroupOptions& o) { o.lr = 0.05, o.weight_decay = 0.5, o.decoupled_weight_decay = true; }), 5);
  CHECK(l2 != decoupled);
}

TEST_CASE("Adam first step by hand", "[optim][adam]") {
  // Step 1: mhat = g, vhat = g^2, so the update is lr * g / (|g| + eps) = lr * sign(g) (nearly).
  Parameter<double> p("w", "weight", Shape{2});
  p.value[0] = 1.0;
  p.value[1] = -1.0;
  ParamGroup<double> g;
  g.params = {&p};
  g.options.lr = 0.1;
  Adam<double> opt({g});
  p.grad[0] = 3.0;
  p.grad[1] = -0.002;
  opt.step();
  CHECK(p.value[0] == Approx(1.0 - 0.1 * 3.0 / (3.0 + 1e-8)).epsilon(1e-14));
  CHECK(p.value[1] == Approx(-1.0 + 0.1 * 0.002 / (0.002 + 1e-8)).epsilon(1e-14));
}

TEST_CASE("RMSprop matches PyTorch's update rule", "[optim][rmsprop]") {
  const int steps = GENERATE(1, 8);
  CAPTURE(steps);
  SECTION("defaults") {
    compare_with_reference<RMSprop<double>, RefRMSprop>(with([](GroupOptions& o) { o.lr = 0.01; }), steps);
  }
  SECTION("centered") {
    compare_with_reference<RMSprop<double>, RefRMSprop>(
        with([](GroupOptions& o) { o.lr = 0.01, o.alpha = 0.9, o.centered = true; }), steps);
  }
  SECTION("momentum and weight decay") {
    compare_with_reference<RMSprop<double>, RefRMSprop>(
        with([](GroupOptions& o) { o.lr = 0.01, o.alpha = 0.8, o.momentum = 0.7, o.weight_decay = 0.1; }), steps);
  }
  SECTION("centered with momentum") {
    compare_with_reference<RMSprop<double>, RefRMSprop>(
        with([](GroupOptions& o) { o.lr = 0.005, o.alpha = 0.95, o.momentum = 0.5, o.centered = true, o.eps = 1e-4; }),
        steps);
  }
}

TEST_CASE("Float optimizers agree with the double reference", "[optim]") {
  Parameter<float> p("w", "weight", Shape{3});
  const double init[3] = {0.5, -0.25, 2.0};
  for (int i = 0; i < 3; ++i) p.value[i] = static_cast<float>(init[i]);
  ParamGroup<float> g;
  g.params = {&p};
  g.options.lr = 0.01;
  g.options.weight_decay = 0.01;
  Adam<float> opt({g});
  RefAdam ref{g.options};
  std::vector<double> pr(init, init + 3);
  for (int t = 1; t <= 5; ++t) {
    std::vector<double> cur(3);
    for (int i = 0; i < 3; ++i) cur[static_cast<size_t>(i)] = p.value[i];
    const auto gr = grad_of(cur);
    for (int i = 0; i < 3; ++i) p.grad[i] = static_cast<float>(gr[static_cast<size_t>(i)]);
    opt.step();
    ref.step(pr, grad_of(pr), t);
  }
  for (int i = 0; i < 3; ++i) CHECK(p.value[i] == Approx(pr[static_cast<size_t>(i)]).margin(1e-5));
}

TEST_CASE("Parameter groups keep their own hyper-parameters", "[optim]") {
  Parameter<double> a("a", "weight", Shape{1}), b("b", "sigma", Shape{1});
  a.value[0] = b.value[0] = 1.0;
  ParamGroup<double> ga, gb;
  ga.params = {&a};
  ga.options.lr = 0.1;
  gb.params = {&b};
  gb.options.lr = 0.01;
  SGD<double> opt({ga, gb});
  a.grad[0] = b.grad[0] = 1.0;
  opt.step();
  CHECK(a.value[0] == Approx(0.9));
  CHECK(b.value[0] == Approx(0.99));
  opt.zero_grad();
  CHECK(a.grad[0] == 0.0);
  CHECK(b.grad[0] == 0.0);
}

TEST_CASE("Clamp bounds are applied after every step", "[optim][clamp]") {
  Parameter<double> clamped("sigma", "sigma", Shape{2}), free("w", "weight", Shape{2});
  clamped.set_clamp(0.0, 1.0);
  for (auto* p : {&clamped, &free}) {
    p->value[0] = 0.5;
    p->value[1] = 0.5;
  }
  ParamGroup<double> g;
  g.params = {&clamped, &free};
  g.options.lr = 0.1;
  g.options.momentum = 0.5;
  SGD<double> opt({g});
  for (auto* p : {&clamped, &free}) {
    p->grad[0] = -10.0;  // pushes up by 1
    p->grad[1] = 10.0;   // pushes down by 1
  }
  opt.step();
  CHECK(clamped.value[0] == 1.0);
  CHECK(clamped.value[1] == 0.0);
  CHECK(free.value[0] == Approx(1.5));
  CHECK(free.value[1] == Approx(-0.5));
  // A gradient pulling back inside the box moves the clamped value from the bound.
  for (auto* p : {&clamped, &free}) p->grad[0] = p->grad[1] = 0.0;
  clamped.grad[0] = 30.0;  // buf = 0.5 * -10 + 30 = 25 -> -2.5: below the lower bound
  opt.step();
  CHECK(clamped.value[0] == 0.0);
  CHECK(clamped.value[1] == 0.0);  // buf = 0.5 * 10 -> -0.5: clamped again

  CHECK_THROWS_AS(clamped.set_clamp(1.0, 0.0), std::invalid_argument);
  // set_clamp applies the bounds immediately.
  free.set_clamp(-0.1, 0.1);
  CHECK(free.value[0] == 0.1);
}

TEST_CASE("Frozen parameters are not updated", "[optim]") {
  Parameter<double> a("a", "weight", Shape{1}), b("b", "weight", Shape{1});
  a.value[0] = b.value[0] = 1.0;
  b.trainable = false;
  ParamGroup<double> g;
  g.params = {&a, &b};
  g.options.lr = 0.1;
  Adam<double> opt({g});
  a.grad[0] = b.grad[0] = 1.0;
  opt.step();
  CHECK(a.value[0] != 1.0);
  CHECK(b.value[0] == 1.0);
}

TEST_CASE("Optimizers reject duplicate/empty parameter lists and bad hyper-parameters", "[optim][errors]") {
  Parameter<double> a("a", "weight", Shape{2}), b("b", "bias", Shape{2});
  auto group = [](std::vector<Parameter<double>*> ps, GroupOptions o = GroupOptions()) {
    ParamGroup<double> g;
    g.params = std::move(ps);
    g.options = o;
    return g;
  };
  CHECK_THROWS_AS(SGD<double>({group({&a, &a})}), std::invalid_argument);
  CHECK_THROWS_AS(Adam<double>({group({&a}), group({&b, &a})}), std::invalid_argument);
  CHECK_THROWS_AS(RMSprop<double>({group({})}), std::invalid_argument);
  CHECK_THROWS_AS(SGD<double>(std::vector<ParamGroup<double>>{}), std::invalid_argument);
  CHECK_THROWS_AS(SGD<double>({group({&a, nullptr})}), std::invalid_argument);
  CHECK_NOTHROW(SGD<double>({group({&a}), group({&b})}));

  const std::vector<std::pair<const char*, std::function<void(GroupOptions&)>>> bad = {
      {"negative lr", [](GroupOptions& o) { o.lr = -0.1; }},
      {"NaN lr", [](GroupOptions& o) { o.lr = std::nan(""); }},
      {"negative weight decay", [](GroupOptions& o) { o.weight_decay = -1e-3; }},
      {"momentum 1", [](GroupOptions& o) { o.momentum = 1.0; }},
      {"negative momentum", [](GroupOptions& o) { o.momentum = -0.5; }},
      {"dampening > 1", [](GroupOptions& o) { o.dampening = 1.5; }},
      {"nesterov without momentum", [](GroupOptions& o) { o.nesterov = true; }},
      {"nesterov with dampening", [](GroupOptions& o) { o.nesterov = true, o.momentum = 0.9, o.dampening = 0.1; }},
      {"beta1 = 1", [](GroupOptions& o) { o.beta1 = 1.0; }},
      {"beta2 < 0", [](GroupOptions& o) { o.beta2 = -0.1; }},
      {"alpha > 1", [](GroupOptions& o) { o.alpha = 1.5; }},
      {"eps = 0", [](GroupOptions& o) { o.eps = 0.0; }},
  };
  for (const auto& kv : bad) {
    INFO(kv.first);
    GroupOptions o;
    kv.second(o);
    CHECK_THROWS_AS(SGD<double>({group({&a}, o)}), std::invalid_argument);
    CHECK_THROWS_AS(Adam<double>({group({&a}, o)}), std::invalid_argument);
    CHECK_THROWS_AS(RMSprop<double>({group({&a}, o)}), std::invalid_argument);
  }
}

TEST_CASE("Hyper-parameters edited after construction are validated and get their state", "[optim][errors]") {
  // Group options are writable from Python (optimizer.group_options(i)); editing them must not
  // crash or run a step with invalid values.
  Parameter<double> p("w", "weight", Shape{3});
  for (int i = 0; i < 3; ++i) p.value[i] = 1.0;
  ParamGroup<double> g;
  g.params = {&p};
  g.options.lr = 0.1;

  SECTION("SGD: momentum switched on later") {
    SGD<double> opt({g});
    p.grad.fill(1.0);
    opt.step();
    opt.groups()[0].options.momentum = 0.9;
    opt.step();  // needs a momentum buffer that was not allocated at construction
    CHECK(p.value[0] == Approx(1.0 - 0.1 - 0.1));
    opt.step();  // buf = 0.9 * 1 + 1 = 1.9
    CHECK(p.value[0] == Approx(0.8 - 0.1 * 1.9));
    CHECK(opt.state_tensors().size() == 1);
  }
  SECTION("Adam: AMSGrad switched on later") {
    Adam<double> opt({g});
    p.grad.fill(1.0);
    opt.step();
    opt.groups()[0].options.amsgrad = true;
    CHECK_NOTHROW(opt.step());
    CHECK(std::isfinite(p.value[0]));
    CHECK(opt.state_tensors().size() == 3);
  }
  SECTION("invalid values are rejected at the next step, before any update") {
    SGD<double> opt({g});
    p.grad.fill(1.0);
    opt.groups()[0].options.lr = -1.0;
    CHECK_THROWS_AS(opt.step(), std::invalid_argument);
    CHECK(p.value[0] == 1.0);
    CHECK(opt.steps_taken() == 0);
    opt.groups()[0].options.lr = 0.1;
    opt.groups()[0].options.nesterov = true;  // without momentum
    CHECK_THROWS_AS(opt.step(), std::invalid_argument);
    CHECK(p.value[0] == 1.0);
  }
}

TEST_CASE("Optimizer state tensors", "[optim]") {
  Parameter<double> a("a", "weight", Shape{2, 3}), b("b", "bias", Shape{3});
  ParamGroup<double> g;
  g.params = {&a, &b};
  SGD<double> plain({g});
  CHECK(plain.state_tensors().empty());
  g.options.momentum = 0.9;
  SGD<double> mom({g});
  REQUIRE(mom.state_tensors().size() == 2);
  CHECK(mom.state_tensors()[0]->shape() == a.value.shape());
  a.grad.fill(2.0);
  mom.step();
  CHECK(mom.state_tensors()[0]->data()[0] == 2.0);  // the first buffer is the gradient itself
  g.options = GroupOptions();
  CHECK(Adam<double>({g}).state_tensors().size() == 4);
  g.options.amsgrad = true;
  CHECK(Adam<double>({g}).state_tensors().size() == 6);
  CHECK(RMSprop<double>({g}).state_tensors().size() == 6);
}

TEST_CASE("StepLR and ExponentialLR scale every group from its initial lr", "[optim][scheduler]") {
  Parameter<double> a("a", "weight", Shape{1}), b("b", "bias", Shape{1});
  ParamGroup<double> ga, gb;
  ga.params = {&a};
  ga.options.lr = 0.1;
  gb.params = {&b};
  gb.options.lr = 0.02;

  SECTION("StepLR: gamma ^ (epoch // step_size)") {
    auto opt = std::make_shared<SGD<double>>(std::vector<ParamGroup<double>>{ga, gb});
    StepLR<double> sched(opt, 2, 0.5);
    const double expected[] = {1.0, 0.5, 0.5, 0.25, 0.25, 0.125};  // after epochs 1..6
    for (int e = 1; e <= 6; ++e) {
      sched.step();
      INFO("epoch " << e);
      CHECK(sched.epoch() == e);
      CHECK(opt->groups()[0].options.lr == Approx(0.1 * expected[e - 1]));
      CHECK(opt->groups()[1].options.lr == Approx(0.02 * expected[e - 1]));
      CHECK(opt->groups()[0].initial_lr == 0.1);
    }
    CHECK(sched.factor(0) == 1.0);
    CHECK(sched.factor(7) == Approx(0.125));
  }
  SECTION("ExponentialLR: gamma ^ epoch") {
    auto opt = std::make_shared<Adam<double>>(std::vector<ParamGroup<double>>{ga, gb});
    ExponentialLR<double> sched(opt, 0.9);
    for (int e = 1; e <= 4; ++e) {
      sched.step();
      CHECK(opt->groups()[0].options.lr == Approx(0.1 * std::pow(0.9, e)));
      CHECK(opt->groups()[1].options.lr == Approx(0.02 * std::pow(0.9, e)));
    }
  }
  SECTION("the scheduled lr is the one the next step uses") {
    auto opt = std::make_shared<SGD<double>>(std::vector<ParamGroup<double>>{ga});
    StepLR<double> sched(opt, 1, 0.1);
    sched.step();
    a.value[0] = 0.0;
    a.grad[0] = 1.0;
    opt->step();
    CHECK(a.value[0] == Approx(-0.01));
  }
  SECTION("bad arguments") {
    auto opt = std::make_shared<SGD<double>>(std::vector<ParamGroup<double>>{ga});
    CHECK_THROWS_AS(StepLR<double>(opt, 0, 0.5), std::invalid_argument);
    CHECK_THROWS_AS(StepLR<double>(opt, 2, 0.0), std::invalid_argument);
    CHECK_THROWS_AS(StepLR<double>(opt, 2, std::nan("")), std::invalid_argument);
    CHECK_THROWS_AS(ExponentialLR<double>(opt, -0.5), std::invalid_argument);
    CHECK_THROWS_AS(ExponentialLR<double>(opt, INFINITY), std::invalid_argument);
  }
}

TEST_CASE("optimizer state of a parameter whose gradient stays 0 flushes to 0 instead of going subnormal", "[optim]") {
  // One gradient, then none for 2,000 steps: 0.9^k (SGD momentum, Adam's m) passes through the
  // subnormal range on the way down; each state value must end up 0 or a normal number.
  auto run = [](auto make_opt) {
    Parameter<float> p("w", "weight", Shape{64});
    for (int64_t i = 0; i < 64; ++i) p.value[i] = 0.5f;
    ParamGroup<float> g;
    g.params = {&p};
    auto opt = make_opt(g);
    for (int64_t i = 0; i < 64; ++i) p.grad[i] = 1e-3f * static_cast<float>(i + 1);
    opt.step();
    p.grad.zero();
    for (int s = 0; s < 2000; ++s) opt.step();
    int64_t subnormal = 0, zero = 0;
    for (Tensor<float>* t : opt.state_tensors())
      for (int64_t i = 0; i < t->size(); ++i) {
        subnormal += std::fpclassify((*t)[i]) == FP_SUBNORMAL;
        zero += (*t)[i] == 0.0f;
      }
    CHECK(subnormal == 0);
    CHECK(zero > 0);  // the decay did reach the bottom: the check above was exercised
    for (int64_t i = 0; i < 64; ++i) CHECK(std::isfinite(p.value[i]));
  };
  SECTION("SGD momentum") {
    run([](ParamGroup<float> g) {
      g.options.lr = 0.1, g.options.momentum = 0.9;
      return SGD<float>({g});
    });
  }
  SECTION("Adam") {
    run([](ParamGroup<float> g) {
      g.options.lr = 1e-3, g.options.beta2 = 0.9;
      return Adam<float>({g});
    });
  }
  SECTION("RMSprop with momentum") {
    run([](ParamGroup<float> g) {
      g.options.lr = 1e-3, g.options.alpha = 0.9, g.options.momentum = 0.9;
      return RMSprop<float>({g});
    });
  }
}

TEST_CASE("The authors' Adam variant (no bias correction, eps inside sqrt, decay after the step) by hand",
          "[optim][adam]") {
  // Two steps of the amplifying-neuron authors' update, computed by hand:
  //   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr m / sqrt(v + eps); w -= lr wd w.
  Parameter<double> p("w", "weight", Shape{2});
  p.value[0] = 0.5;
  p.value[1] = -2.0;
  ParamGroup<double> g;
  g.params = {&p};
  g.options.lr = 0.01;
  g.options.beta1 = 0.9;
  g.options.beta2 = 0.99;
  g.options.eps = 1e-8;
  g.options.weight_decay = 0.002;
  g.options.decoupled_weight_decay = true;
  g.options.bias_correction = false;
  g.options.eps_inside_sqrt = true;
  g.options.decay_after_step = true;
  Adam<double> opt({g});
  const double grads[2][2] = {{0.3, -0.04}, {-0.1, 0.02}};
  double w[2] = {0.5, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
  for (int s = 0; s < 2; ++s) {
    for (int i = 0; i < 2; ++i) {
      p.grad[i] = grads[s][i];
      m[i] = 0.9 * m[i] + 0.1 * grads[s][i];
      v[i] = 0.99 * v[i] + 0.01 * grads[s][i] * grads[s][i];
      w[i] -= 0.01 * m[i] / std::sqrt(v[i] + 1e-8);
      w[i] -= 0.01 * 0.002 * w[i];
    }
    opt.step();
    for (int i = 0; i < 2; ++i) CHECK(p.value[i] == Approx(w[i]).epsilon(1e-14));
  }
  // Step 1 explicitly: m = 0.03, v = 9e-4, w = 0.5 - 0.01 * 0.03 / sqrt(9e-4 + 1e-8) = 0.4900000556, then
  // w -= 0.01 * 0.002 * w: 0.4899902556.
  const double w1 = (0.5 - 0.01 * 0.03 / std::sqrt(9e-4 + 1e-8)) * (1.0 - 0.01 * 0.002);
  CHECK(w1 == Approx(0.4899902556).epsilon(1e-9));
}

TEST_CASE("Each Adam variant flag changes the update on its own", "[optim][adam]") {
  auto one_step = [](auto set) {
    Parameter<double> p("w", "weight", Shape{1});
    p.value[0] = 1.0;
    ParamGroup<double> g;
    g.params = {&p};
    g.options.lr = 0.1;
    g.options.eps = 1e-2;
    g.options.weight_decay = 0.5;
    g.options.decoupled_weight_decay = true;
    set(g.options);
    Adam<double> opt({g});
    p.grad[0] = 0.2;
    opt.step();
    return p.value[0];
  };
  const double base = one_step([](GroupOptions&) {});
  // PyTorch AdamW: w = (1 - lr wd) w - lr/(1-b1) * m / (sqrt(v)/sqrt(1-b2) + eps) with m = 0.02, v = 4e-5.
  CHECK(base == Approx(0.95 - 0.1 / 0.1 * 0.02 / (std::sqrt(4e-5) / std::sqrt(1e-3) + 1e-2)).epsilon(1e-12));
  const double no_bc = one_step([](GroupOptions& o) { o.bias_correction = false; });
  CHECK(no_bc == Approx(0.95 - 0.1 * 0.02 / (std::sqrt(4e-5) + 1e-2)).epsilon(1e-12));
  const double inside = one_step([](GroupOptions& o) { o.eps_inside_sqrt = true; });
  CHECK(inside == Approx(0.95 - 0.1 / 0.1 * 0.02 / std::sqrt(4e-5 / 1e-3 + 1e-2)).epsilon(1e-12));
  const double after = one_step([](GroupOptions& o) { o.decay_after_step = true; });
  const double stepped = 1.0 - 0.1 / 0.1 * 0.02 / (std::sqrt(4e-5) / std::sqrt(1e-3) + 1e-2);
  CHECK(after == Approx(stepped - 0.1 * 0.5 * stepped).epsilon(1e-12));
  // decay_after_step is meaningless with L2 decay (through the gradient): rejected.
  Parameter<double> p("w", "weight", Shape{1});
  ParamGroup<double> g;
  g.params = {&p};
  g.options.decay_after_step = true;
  CHECK_THROWS_AS(Adam<double>({g}), std::invalid_argument);
}

TEST_CASE("reset_state zeroes the moments and restarts the step count", "[optim]") {
  Parameter<double> p("w", "weight", Shape{1});
  p.value[0] = 1.0;
  ParamGroup<double> g;
  g.params = {&p};
  g.options.lr = 0.1;
  Adam<double> opt({g});
  p.grad[0] = 0.5;
  opt.step();
  opt.step();
  for (auto* t : opt.state_tensors()) CHECK((*t)[0] != 0.0);
  opt.reset_state();
  for (auto* t : opt.state_tensors()) CHECK((*t)[0] == 0.0);
  // The next step is a first step again: with bias correction the update is lr * g / (|g| + eps).
  const double before = p.value[0];
  p.grad[0] = -0.25;
  opt.step();
  CHECK(p.value[0] == Approx(before + 0.1 * 0.25 / (0.25 + 1e-8)).epsilon(1e-14));
  CHECK(opt.groups()[0].options.lr == 0.1);
}
