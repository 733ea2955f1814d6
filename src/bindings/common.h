// Shared helpers for the bindings: NumPy <-> Tensor conversion and zero-copy views.
// Python validates and converts inputs (dtype, contiguity, finiteness) before they get here.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <string>

#include "core/sequential.h"
#include "core/tensor.h"

namespace py = pybind11;

namespace bionn {

template <typename T>
using CArray = py::array_t<T, py::array::c_style>;

template <typename T>
inline const char* dtype_suffix();
template <>
inline const char* dtype_suffix<float>() { return "_f32"; }
template <>
inline const char* dtype_suffix<double>() { return "_f64"; }

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

void bind_layers(py::module_& m);
void bind_training(py::module_& m);
void bind_focus(py::module_& m);
void bind_amplifying(py::module_& m);
void bind_flexible(py::module_& m);
void bind_attacks(py::module_& m);
void bind_neglu(py::module_& m);
void bind_selforg(py::module_& m);

}  // namespace bionn
