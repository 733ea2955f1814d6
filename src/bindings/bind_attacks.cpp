// Attack bindings (pgd_attack, fgsm_attack), once per dtype; the attack loop runs with the GIL
// released and polls for Ctrl-C at every step. Python validates every argument first (bionn.attacks).
#include "bindings/common.h"
#include "core/attacks.h"

namespace bionn {

namespace {

template <typename T>
void bind_attacks_dtype(py::module_& m) {
  m.def(
      with_dtype<T>("pgd_attack").c_str(),
      [](Sequential<T>& model, const CArray<T>& x, const CArray<T>& y, Loss<T>& loss, double eps, double alpha,
         int steps, bool random_start, double clip_min, double clip_max, int64_t batch_size, uint64_t seed,
         py::object start) {
        AttackOptions o;
        o.eps = eps;
        o.alpha = alpha;
        o.steps = steps;
        o.random_start = random_start;
        o.clip_min = clip_min;
        o.clip_max = clip_max;
        o.batch_size = batch_size;
        o.seed = seed;
        auto vx = to_view(x), vy = to_view(y);
        CArray<T> start_arr;
        DataView<T> vs;
        const DataView<T>* ps = nullptr;
        if (!start.is_none()) {
          start_arr = start.cast<CArray<T>>();
          vs = to_view(start_arr);
          ps = &vs;
        }
        Tensor<T> adv;
        {
          PyInterruptScope interrupt;
          py::gil_scoped_release release;
          adv = pgd_attack(model, vx, vy, loss, o, ps);
        }
        return to_numpy(adv);
      },
      py::arg("model"), py::arg("x"), py::arg("y"), py::arg("loss"), py::arg("eps"), py::arg("alpha"), py::arg("steps"),
      py::arg("random_start"), py::arg("clip_min"), py::arg("clip_max"), py::arg("batch_size"), py::arg("seed"),
      py::arg("start") = py::none());
}

void bind_attacks(py::module_& m) {
  bind_attacks_dtype<float>(m);
  bind_attacks_dtype<double>(m);
}

const Registration registration{"attacks", &bind_attacks, BindOrder::kAlgorithms};

}  // namespace

}  // namespace bionn
