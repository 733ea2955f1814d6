#include "bindings/common.h"
#include "core/parallel.h"
#include "core/rng.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "bionn C++ core: layers, losses, optimizers and the training loop";
  // std::invalid_argument -> ValueError (pybind11 default); other std exceptions -> RuntimeError.
  m.def("set_num_threads", &bionn::set_num_threads, py::arg("n"));
  m.def("get_num_threads", &bionn::get_num_threads);
  m.def("manual_seed", [](uint64_t seed) { bionn::global_rng().seed_with(seed); }, py::arg("seed"));
  m.def("initial_seed", []() { return bionn::global_rng().seed(); });
  m.def("draw_seed", []() { return bionn::global_rng().next_u64(); });
#ifdef _OPENMP
  m.attr("has_openmp") = true;
#else
  m.attr("has_openmp") = false;
#endif
  bionn::bind_layers(m);
  bionn::bind_training(m);
  bionn::bind_focus(m);
  bionn::bind_amplifying(m);
  bionn::bind_flexible(m);
  bionn::bind_attacks(m);
  bionn::bind_neglu(m);
  bionn::bind_selforg(m);
}
