// Measurement hooks for benchmarks/ (the roofline report): the GEMM every layer uses, timed on
// its own, and a Sequential's training step timed layer by layer in C++ (no NumPy copies between
// layers, unlike standalone Python layer calls). Diagnostics (bench_*), not API: bionn._core is private.
#include <algorithm>
#include <chrono>
#include <limits>

#include "bindings/common.h"
#include "core/eigen.h"
#include "core/gemm.h"
#include "core/losses.h"
#include "core/optim.h"
#include "core/sequential.h"

namespace bionn {

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Best time of `repeats` products C(m, n) = A(m, k) B(k, n), row-major float, through gemm().
double bench_gemm(int64_t m, int64_t n, int64_t k, int repeats) {
  if (m <= 0 || n <= 0 || k <= 0) throw std::invalid_argument("bench_gemm: m, n and k must be positive");
  if (m > 16384 || n > 16384 || k > 16384) throw std::invalid_argument("bench_gemm: sizes are capped at 16384");
  if (repeats < 1) throw std::invalid_argument("bench_gemm: repeats must be >= 1");
  limit_gemm_blocking();
  MatR<float> a = MatR<float>::Random(m, k), b = MatR<float>::Random(k, n), c(m, n);
  gemm(c, a, b, false);  // warm-up
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeats; ++r) {
    const double t0 = now();
    gemm(c, a, b, false);
    best = std::min(best, now() - t0);
  }
  return best;
}

struct StepProfile {
  std::vector<std::string> kinds;
  std::vector<double> forward_s, backward_s;
  double loss_forward_s = 0, loss_backward_s = 0, zero_grad_s = 0, step_s = 0;
};

// One training step, as Sequential::train_step does it, with every stage timed; minima over repeats.
template <typename T>
StepProfile profile_step(Sequential<T>& s, const Tensor<T>& x, const Tensor<T>& y, Loss<T>& loss, Optimizer<T>& opt,
                         int repeats) {
  if (repeats < 1) throw std::invalid_argument("bench_profile_step: repeats must be >= 1");
  const auto& layers = s.layers();
  const size_t nl = layers.size();
  const double inf = std::numeric_limits<double>::infinity();
  StepProfile p;
  p.forward_s.assign(nl, inf);
  p.backward_s.assign(nl, inf);
  p.loss_forward_s = p.loss_backward_s = p.zero_grad_s = p.step_s = inf;
  for (auto& l : layers) p.kinds.push_back(l->kind());
  for (int r = 0; r <= repeats; ++r) {  // r == 0 warms up
    const bool timed = r > 0;
    double t0 = now();
    opt.zero_grad();
    double t1 = now();
    if (timed) p.zero_grad_s = std::min(p.zero_grad_s, t1 - t0);
    const Tensor<T>* h = &x;
    for (size_t i = 0; i < nl; ++i) {
      t0 = now();
      h = &layers[i]->forward(*h, true, s.rng());
      t1 = now();
      if (timed) p.forward_s[i] = std::min(p.forward_s[i], t1 - t0);
    }
    t0 = now();
    loss.forward(*h, y);
    t1 = now();
    const Tensor<T>* g = &loss.backward();
    const double t2 = now();
    if (timed) {
      p.loss_forward_s = std::min(p.loss_forward_s, t1 - t0);
      p.loss_backward_s = std::min(p.loss_backward_s, t2 - t1);
    }
    for (size_t i = nl; i-- > 0;) {
      t0 = now();
      g = &layers[i]->backward(*g, i > 0);
      t1 = now();
      if (timed) p.backward_s[i] = std::min(p.backward_s[i], t1 - t0);
    }
    t0 = now();
    opt.step();
    t1 = now();
    if (timed) p.step_s = std::min(p.step_s, t1 - t0);
  }
  return p;
}

void bind_bench(py::module_& m) {
  m.def(
      "bench_gemm",
      [](int64_t mm, int64_t n, int64_t k, int repeats) {
        py::gil_scoped_release release;
        return bench_gemm(mm, n, k, repeats);
      },
      py::arg("m"), py::arg("n"), py::arg("k"), py::arg("repeats") = 5,
      "Best seconds of float32 (m, k) x (k, n) products through the layers' GEMM.");
  m.def(
      "bench_profile_step",
      [](Sequential<float>& s, const CArray<float>& x, const CArray<float>& y, Loss<float>& loss, Optimizer<float>& opt,
         int repeats) {
        Tensor<float> tx = to_tensor(x), ty = to_tensor(y);
        StepProfile p;
        {
          py::gil_scoped_release release;
          p = profile_step(s, tx, ty, loss, opt, repeats);
        }
        py::dict out;
        out["kinds"] = p.kinds;
        out["forward_s"] = p.forward_s;
        out["backward_s"] = p.backward_s;
        out["loss_forward_s"] = p.loss_forward_s;
        out["loss_backward_s"] = p.loss_backward_s;
        out["zero_grad_s"] = p.zero_grad_s;
        out["step_s"] = p.step_s;
        return out;
      },
      py::arg("model"), py::arg("x"), py::arg("y"), py::arg("loss"), py::arg("optimizer"), py::arg("repeats") = 10,
      "Per-stage minimum times of a float32 training step (trains the model).");
}

const Registration registration{"bench", &bind_bench, BindOrder::kAlgorithms};

}  // namespace

}  // namespace bionn
