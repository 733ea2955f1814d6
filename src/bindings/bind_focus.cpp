// Focusing-neuron layer bindings (FocusOptions; FocusDense, FocusDense2D once per dtype). No logic
// here, and no defaults: FocusOptions() carries the C++ struct's (layers/focus.h).
#include "bindings/common.h"
#include "layers/focus.h"

namespace bionn {

namespace {

void bind_options(py::module_& m) {
  using O = FocusOptions;
  py::class_<O>(m, "FocusOptions")
      .def(py::init<>())
      .def_readwrite("bias", &O::bias)
      .def_readwrite("init", &O::init)
      .def_readwrite("normalization", &O::normalization)
      .def_readwrite("mu_init", &O::mu_init)
      .def_readwrite("mu_values", &O::mu_values)
      .def_readwrite("spread_lo", &O::spread_lo)
      .def_readwrite("spread_hi", &O::spread_hi)
      .def_readwrite("sigma_init", &O::sigma_init)
      .def_readwrite("trainable_focus", &O::trainable_focus)
      .def_readwrite("mu_min", &O::mu_min)
      .def_readwrite("mu_max", &O::mu_max)
      .def_readwrite("sigma_min", &O::sigma_min)
      .def_readwrite("sigma_max", &O::sigma_max)
      .def_readwrite("sigma_l1", &O::sigma_l1)
      .def_readwrite("sigma_l2", &O::sigma_l2)
      .def_readwrite("prune_threshold", &O::prune_threshold)
      .def_readwrite("anisotropic", &O::anisotropic);
}

template <typename T, class L>
void focus_methods(LayerClass<T, L>& c) {
  c.def("focus", [](L& l) { return to_numpy(l.focus()); })
      .def("effective_weight", [](L& l) { return to_numpy(l.effective_weight()); })
      .def("prune", &L::prune, py::arg("threshold"))
      .def_property_readonly("prune_threshold", &L::prune_threshold)
      .def("sigma_penalty", &L::sigma_penalty)
      .def_property_readonly("in_features", &L::in_features)
      .def_property_readonly("out_features", &L::out_features);
}

template <typename T>
void bind_focus_dtype(py::module_& m) {
  using F1 = FocusDense<T>;
  using F2 = FocusDense2D<T>;
  auto c1 = layer_class<T, F1>(m, "FocusDense");
  c1.def(py::init([](int64_t in, int64_t out, const FocusOptions& o) {
           return std::make_shared<F1>(in, out, o, global_rng());
         }),
         py::arg("in_features"), py::arg("out_features"), py::arg("options"));
  focus_methods<T, F1>(c1);

  auto c2 = layer_class<T, F2>(m, "FocusDense2D");
  c2.def(py::init([](int64_t h, int64_t w, int64_t out, const FocusOptions& o) {
           return std::make_shared<F2>(h, w, out, o, global_rng());
         }),
         py::arg("height"), py::arg("width"), py::arg("out_features"), py::arg("options"));
  focus_methods<T, F2>(c2);
}

void bind_focus(py::module_& m) {
  bind_options(m);
  bind_focus_dtype<float>(m);
  bind_focus_dtype<double>(m);
}

const Registration registration{"focus", &bind_focus, BindOrder::kMechanism};

}  // namespace

}  // namespace bionn
