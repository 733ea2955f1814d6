// NegLU-family bindings (NegLU, SmoothNegLU, MixLU, MinMaxout, LearnedActivation), once per dtype.
// No logic here; Python validates the arguments first.
#include "bindings/common.h"
#include "layers/neglu.h"

namespace bionn {

namespace {

UnitSelection selection(double fraction, const std::vector<int64_t>& units, bool is_explicit, int64_t seed) {
  UnitSelection s;
  s.fraction = fraction;
  s.units = units;
  s.is_explicit = is_explicit;
  s.seed = seed;
  return s;
}

template <typename T>
void bind_neglu_dtype(py::module_& m) {
  layer_class<T, NegLU<T>>(m, "NegLU").def(py::init<>());
  layer_class<T, SmoothNegLU<T>>(m, "SmoothNegLU").def(py::init<>());
  layer_class<T, MixLU<T>>(m, "MixLU")
      .def(py::init([](const std::vector<int64_t>& units_shape, double fraction, const std::vector<int64_t>& units,
                       bool is_explicit, int64_t seed, const std::string& mode, const std::string& grad) {
             return std::make_shared<MixLU<T>>(units_shape, selection(fraction, units, is_explicit, seed),
                                               parse_mixlu_mode(mode), parse_mixlu_grad(grad), global_rng());
           }),
           py::arg("units_shape"), py::arg("fraction"), py::arg("units"), py::arg("is_explicit"), py::arg("seed"),
           py::arg("mode"), py::arg("neglu_grad"))
      .def("mask", [](const MixLU<T>& l) { return to_numpy(l.mask()); });
  layer_class<T, MinMaxout<T>>(m, "MinMaxout")
      .def(py::init([](int64_t units, int64_t pieces, double fraction, const std::vector<int64_t>& min_units,
                       bool is_explicit, int64_t seed) {
             return std::make_shared<MinMaxout<T>>(units, pieces, selection(fraction, min_units, is_explicit, seed),
                                                   global_rng());
           }),
           py::arg("num_units"), py::arg("pieces"), py::arg("min_fraction"), py::arg("min_units"),
           py::arg("is_explicit"), py::arg("seed"))
      .def("mask", [](const MinMaxout<T>& l) { return to_numpy(l.mask()); });
  layer_class<T, LearnedActivation<T>>(m, "LearnedActivation")
      .def(py::init<int64_t, double, double>(), py::arg("num_units"), py::arg("positive_init"),
           py::arg("negative_init"));
}

void bind_neglu(py::module_& m) {
  bind_neglu_dtype<float>(m);
  bind_neglu_dtype<double>(m);
}

const Registration registration{"neglu", &bind_neglu, BindOrder::kMechanism};

}  // namespace

}  // namespace bionn
