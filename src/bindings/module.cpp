// The bionn._core module: module-level functions, then every binding registered by a bind_*.cpp
// (see Registration in bindings/common.h), in (order, name) order. A new mechanism adds its own
// bind_<area>.cpp and edits neither this file nor common.h.
#include <Eigen/Core>
#include <algorithm>
#include <stdexcept>
#include <string>

#include "bindings/common.h"
#include "core/blas.h"
#include "core/parallel.h"
#include "core/rng.h"

#ifndef BIONN_ISA
#define BIONN_ISA "unknown"
#endif

namespace bionn {

std::vector<BindingEntry>& binding_registry() {
  static std::vector<BindingEntry> registry;
  return registry;
}

namespace {

std::vector<BindingEntry> sorted_bindings() {
  std::vector<BindingEntry> entries = binding_registry();
  std::sort(entries.begin(), entries.end(), [](const BindingEntry& a, const BindingEntry& b) {
    return a.order != b.order ? a.order < b.order : std::string(a.name) < std::string(b.name);
  });
  for (size_t i = 1; i < entries.size(); ++i)
    if (std::string(entries[i].name) == entries[i - 1].name)
      throw std::logic_error(std::string("bionn._core: binding '") + entries[i].name + "' registered twice");
  return entries;
}

// What this build of the module was compiled with (bionn.show_config prints it).
py::dict build_info() {
  py::dict info;
  info["isa"] = BIONN_ISA;  // the CMake level: x86-64-v2/-v3/-v4, native or generic
  info["simd"] = std::string(Eigen::SimdInstructionSetsInUse());
  info["eigen"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                  std::to_string(EIGEN_MINOR_VERSION);
#if defined(__GNUC__) && !defined(__clang__)
  info["compiler"] = "GCC " __VERSION__;
#elif defined(__VERSION__)
  info["compiler"] = __VERSION__;  // Clang's names itself
#else
  info["compiler"] = py::none();
#endif
#ifdef _OPENMP
  info["openmp"] = _OPENMP;  // the OpenMP version date, e.g. 201511 for 4.5
#else
  info["openmp"] = py::none();
#endif
  return info;
}

}  // namespace

}  // namespace bionn

PYBIND11_MODULE(_core, m) {
  m.doc() = "bionn C++ core: layers, losses, optimizers and the training loop";
  // std::invalid_argument -> ValueError (pybind11 default); other std exceptions -> RuntimeError.
  m.def("set_num_threads", &bionn::set_num_threads, py::arg("n"));
  m.def("get_num_threads", &bionn::get_num_threads);
  m.def("manual_seed", [](uint64_t seed) { bionn::global_rng().seed_with(seed); }, py::arg("seed"));
  m.def("initial_seed", []() { return bionn::global_rng().seed(); });
  m.def("build_info", &bionn::build_info,
        "What this build was compiled with: isa (x86-64-v2/-v3/-v4, native or generic),\n"
        "simd (the instruction sets Eigen uses), eigen (version), compiler, openmp (version date or None).");
  // The optional run-time BLAS (core/blas.h); bionn.set_blas validates and finds the path.
  m.def(
      "blas_load", [](const std::string& path) { return bionn::blas::load(path); }, py::arg("path"),
      "Use the CBLAS library at path for GEMMs; returns its symbol prefix. RuntimeError if unusable.");
  m.def("blas_unload", &bionn::blas::unload, "Back to Eigen's GEMM.");
  m.def("blas_path", &bionn::blas::loaded_path, "The library in use, or '' for Eigen.");
  m.def(
      "blas_calls", []() { return bionn::blas::calls.load(std::memory_order_relaxed); },
      "GEMM blocks the loaded library has computed since the process started.");
  m.def("draw_seed", []() { return bionn::global_rng().next_u64(); });
#ifdef _OPENMP
  m.attr("has_openmp") = true;
#else
  m.attr("has_openmp") = false;
#endif
  for (const auto& entry : bionn::sorted_bindings()) entry.bind(m);
}
