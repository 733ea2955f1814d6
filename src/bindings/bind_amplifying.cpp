// Amplifying / attenuating neuron bindings (ParametricSoftplus, SecondaryActivation), once per dtype.
// No logic here.
#include "bindings/common.h"
#include "layers/amplifying.h"

namespace bionn {

namespace {

template <typename T>
void bind_amplifying_dtype(py::module_& m) {
  m.def(with_dtype<T>("ParametricSoftplus").c_str(), &make_parametric_softplus<T>, py::arg("a"));

  using S = SecondaryActivation<T>;
  layer_class<T, S>(m, "SecondaryActivation")
      .def(
          py::init([](int64_t features, const std::vector<int64_t>& amplifying, const std::vector<int64_t>& attenuating,
                      const std::string& activation, double a, double b, const std::vector<int64_t>& linear) {
            SecondaryOptions o;
            o.activation = activation;
            o.a = a;
            o.b = b;
            o.linear = linear;
            return std::make_shared<S>(features, amplifying, attenuating, o);
          }),
          py::arg("features"), py::arg("amplifying"), py::arg("attenuating"),
          py::arg("activation") = "parametric_softplus", py::arg("a") = 0.3, py::arg("b") = 1.0,
          py::arg("linear") = std::vector<int64_t>())
      .def_property_readonly("features", &S::features)
      .def_property_readonly("amplifying", &S::amplifying)
      .def_property_readonly("attenuating", &S::attenuating)
      .def_property_readonly("linear", &S::linear)
      .def_property("secondary_enabled", &S::secondary_enabled, &S::set_secondary_enabled)
      .def_property_readonly("activation", [](const S& s) { return primary_activation_name(s.activation()); })
      .def_property_readonly("a", &S::a)
      .def_property_readonly("b", &S::b);
}

void bind_amplifying(py::module_& m) {
  bind_amplifying_dtype<float>(m);
  bind_amplifying_dtype<double>(m);
}

const Registration registration{"amplifying", &bind_amplifying, BindOrder::kMechanism};

}  // namespace

}  // namespace bionn
