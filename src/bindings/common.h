// Shared helpers for the bindings: the registry every bind_*.cpp adds itself to, NumPy <-> Tensor
// conversion, zero-copy views and the layer class helper. Python validates and converts inputs
// (dtype, contiguity, finiteness) before they get here.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/interrupt.h"
#include "core/layer.h"
#include "core/sequential.h"
#include "core/tensor.h"

namespace py = pybind11;

namespace bionn {

template <typename T>
using CArray = py::array_t<T, py::array::c_style>;

// Ctrl-C for C++ loops running with the GIL released (core/interrupt.h): the check takes the GIL
// and asks Python for pending signals, so Python's SIGINT handler raises KeyboardInterrupt, which
// propagates out of the loop as py::error_already_set. Python runs signal handlers in the main thread
// only, so other threads install no check (and never wait for the GIL to poll).
inline void check_python_signals() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}
// Construct with the GIL held, before py::gil_scoped_release.
class PyInterruptScope : public InterruptScope {
 public:
  PyInterruptScope() : InterruptScope(in_main_thread() ? &check_python_signals : nullptr) {}

 private:
  static bool in_main_thread() {
    static const unsigned long main_ident =
        py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
    return PyThread_get_thread_ident() == main_ident;
  }
};

template <typename T>
inline const char* dtype_suffix();
template <>
inline const char* dtype_suffix<float>() {
  return "_f32";
}
template <>
inline const char* dtype_suffix<double>() {
  return "_f64";
}

inline Shape shape_of(const py::array& a) {
  if (a.ndim() < 1 || a.ndim() > 4)
    throw std::invalid_argument("expected an array with 1 to 4 dimensions, got " + std::to_string(a.ndim()));
  std::vector<int64_t> d(a.shape(), a.shape() + a.ndim());
  return Shape::from_vector(d);
}

template <typename T>
Tensor<T> to_tensor(const CArray<T>& a) {
  Tensor<T> t(shape_of(a));
  if (t.size()) std::memcpy(t.data(), a.data(), sizeof(T) * static_cast<size_t>(t.size()));
  return t;
}

template <typename T>
DataView<T> to_view(const CArray<T>& a) {
  return DataView<T>{a.data(), shape_of(a)};
}

template <typename T>
py::array_t<T> to_numpy(const Tensor<T>& t) {
  std::vector<py::ssize_t> shape(t.shape().dims.begin(), t.shape().dims.begin() + t.ndim());
  py::array_t<T> out(shape);
  if (t.size()) std::memcpy(out.mutable_data(), t.data(), sizeof(T) * static_cast<size_t>(t.size()));
  return out;
}

// A writable NumPy view of t's storage; `owner` keeps the storage alive.
template <typename T>
py::array_t<T> view_of(Tensor<T>& t, py::handle owner) {
  std::vector<py::ssize_t> shape(t.shape().dims.begin(), t.shape().dims.begin() + t.ndim());
  return py::array_t<T>(shape, t.data(), owner);
}

// -- registry ---------------------------------------------------------------------------------
// Each bind_<area>.cpp registers its init function with a namespace-scope object:
//
//   namespace { const Registration registration{"focus", &bind_focus, BindOrder::kMechanism}; }
//
// and module.cpp calls every registered function, sorted by (order, name): the order is fixed by
// the priorities, not by link or static-initialisation order. A class's base (Layer_f32, Loss_f32,
// ...) must be bound before the class, and a type should be bound before the functions that take it
// (pybind11 writes signatures at def time), hence the priorities. The binding sources are compiled
// into the _core module itself (not a static library), so the linker keeps every registration.
using BindFunction = void (*)(py::module_&);

struct BindOrder {
  static constexpr int kCore = 0;         // Parameter, Layer and the core layers
  static constexpr int kTraining = 10;    // losses, optimizers, schedulers, Sequential
  static constexpr int kAlgorithms = 20;  // functions over Sequential and losses (attacks)
  static constexpr int kMechanism = 100;  // a paper's layers and networks
};

struct BindingEntry {
  const char* name;
  BindFunction bind;
  int order;
};

// The registered bindings, in registration order (a function-local static: safe to use from other
// translation units' static initialisers). Defined in module.cpp.
std::vector<BindingEntry>& binding_registry();

struct Registration {
  Registration(const char* name, BindFunction bind, int order) { binding_registry().push_back({name, bind, order}); }
};

// -- helpers ----------------------------------------------------------------------------------
// "Dense" -> "Dense_f32" / "Dense_f64".
template <typename T>
std::string with_dtype(const char* name) {
  return std::string(name) + dtype_suffix<T>();
}

template <typename T, class L>
using LayerClass = py::class_<L, Layer<T>, std::shared_ptr<L>>;

// The Python class of layer L (derived from Layer<T>), named name + dtype suffix.
template <typename T, class L>
LayerClass<T, L> layer_class(py::module_& m, const char* name) {
  return LayerClass<T, L>(m, with_dtype<T>(name).c_str());
}

}  // namespace bionn
