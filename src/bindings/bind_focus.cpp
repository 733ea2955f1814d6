// Focusing-neuron layer bindings (FocusDense, FocusDense2D), once per dtype. No logic here.
#include "bindings/common.h"
#include "layers/focus.h"

namespace bionn {

namespace {

FocusOptions make_options(bool bias, const std::string& init, const std::string& normalization,
                          const std::string& mu_init, const std::vector<double>& mu_values, double spread_lo,
                          double spread_hi, double sigma_init, bool trainable_focus, double mu_min, double mu_max,
                          double sigma_min, double sigma_max, double sigma_l1, double sigma_l2,
                          double prune_threshold, bool anisotropic) {
  FocusOptions o;
  o.bias = bias;
  o.init = init;
  o.normalization = normalization;
  o.mu_init = mu_init;
  o.mu_values = mu_values;
  o.spread_lo = spread_lo;
  o.spread_hi = spread_hi;
  o.sigma_init = sigma_init;
  o.trainable_focus = trainable_focus;
  o.mu_min = mu_min;
  o.mu_max = mu_max;
  o.sigma_min = sigma_min;
  o.sigma_max = sigma_max;
  o.sigma_l1 = sigma_l1;
  o.sigma_l2 = sigma_l2;
  o.prune_threshold = prune_threshold;
  o.anisotropic = anisotropic;
  return o;
}

template <typename T, class L>
void focus_methods(py::class_<L, Layer<T>, std::shared_ptr<L>>& c) {
  c.def("focus", [](L& l) { return to_numpy(l.focus()); })
      .def("effective_weight", [](L& l) { return to_numpy(l.effective_weight()); })
      .def("prune", &L::prune, py::arg("threshold"))
      .def_property_readonly("prune_threshold", &L::prune_threshold)
      .def("sigma_penalty", &L::sigma_penalty)
      .def_property_readonly("in_features", &L::in_features)
      .def_property_readonly("out_features", &L::out_features);
}

#define BIONN_FOCUS_ARGS                                                                                      \
  py::arg("bias") = true, py::arg("init") = "focus", py::arg("normalization") = "l2",                         \
  py::arg("mu_init") = "spread", py::arg("mu_values") = std::vector<double>{}, py::arg("spread_lo") = 0.2,    \
  py::arg("spread_hi") = 0.8, py::arg("sigma_init") = 0.025, py::arg("trainable_focus") = true,              \
  py::arg("mu_min") = 0.0, py::arg("mu_max") = 1.0, py::arg("sigma_min") = 0.01, py::arg("sigma_max") = 1.0, \
  py::arg("sigma_l1") = 0.0, py::arg("sigma_l2") = 0.0, py::arg("prune_threshold") = 0.0

template <typename T>
void bind_focus_dtype(py::module_& m) {
  using F1 = FocusDense<T>;
  using F2 = FocusDense2D<T>;
  py::class_<F1, Layer<T>, std::shared_ptr<F1>> c1(m, (std::string("FocusDense") + dtype_suffix<T>()).c_str());
  c1.def(py::init([](int64_t in, int64_t out, bool bias, const std::string& init, const std::string& norm,
                     const std::string& mu_init, const std::vector<double>& mu_values, double a, double b,
                     double sigma_init, bool trainable, double mu_min, double mu_max, double s_min, double s_max,
                     double l1, double l2, double prune) {
           return std::make_shared<F1>(in, out,
                                       make_options(bias, init, norm, mu_init, mu_values, a, b, sigma_init, trainable,
                                                    mu_min, mu_max, s_min, s_max, l1, l2, prune, false),
                                       global_rng());
         }),
         py::arg("in_features"), py::arg("out_features"), BIONN_FOCUS_ARGS);
  focus_methods<T, F1>(c1);

  py::class_<F2, Layer<T>, std::shared_ptr<F2>> c2(m, (std::string("FocusDense2D") + dtype_suffix<T>()).c_str());
  c2.def(py::init([](int64_t h, int64_t w, int64_t out, bool bias, const std::string& init, const std::string& norm,
                     const std::string& mu_init, const std::vector<double>& mu_values, double a, double b,
                     double sigma_init, bool trainable, double mu_min, double mu_max, double s_min, double s_max,
                     double l1, double l2, double prune, bool aniso) {
           return std::make_shared<F2>(h, w, out,
                                       make_options(bias, init, norm, mu_init, mu_values, a, b, sigma_init, trainable,
                                                    mu_min, mu_max, s_min, s_max, l1, l2, prune, aniso),
                                       global_rng());
         }),
         py::arg("height"), py::arg("width"), py::arg("out_features"), BIONN_FOCUS_ARGS,
         py::arg("anisotropic") = false);
  focus_methods<T, F2>(c2);
}

#undef BIONN_FOCUS_ARGS

}  // namespace

void bind_focus(py::module_& m) {
  bind_focus_dtype<float>(m);
  bind_focus_dtype<double>(m);
}

}  // namespace bionn
