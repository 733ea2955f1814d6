// Parameter: a trainable tensor, its gradient, a tag that optimizers select on (weight, bias, mu,
// sigma, threshold, ...) and optional bounds applied after every optimizer step.
#pragma once
#include <limits>
#include <string>
#include <utility>

#include "core/tensor.h"

namespace bionn {

template <typename T>
struct Parameter {
  Parameter(std::string name_, std::string tag_, const Shape& shape)
      : name(std::move(name_)), tag(std::move(tag_)), value(shape, T(0)), grad(shape, T(0)) {}

  std::string name;  // unique within its layer, e.g. "weight"
  std::string tag;   // what optimizers group by
  Tensor<T> value;   // never resized after construction: NumPy views stay valid
  Tensor<T> grad;
  double clamp_min = -std::numeric_limits<double>::infinity();
  double clamp_max = std::numeric_limits<double>::infinity();
  bool trainable = true;

  bool has_clamp() const {
    return clamp_min != -std::numeric_limits<double>::infinity() ||
           clamp_max != std::numeric_limits<double>::infinity();
  }
  void set_clamp(double lo, double hi) {
    if (!(lo <= hi)) throw std::invalid_argument("clamp: min must be <= max");
    clamp_min = lo;
    clamp_max = hi;
    apply_clamp();
  }
  void apply_clamp() {
    if (!has_clamp()) return;
    const T lo = static_cast<T>(clamp_min), hi = static_cast<T>(clamp_max);
    T* v = value.data();
    for (int64_t i = 0; i < value.size(); ++i) v[i] = v[i] < lo ? lo : (v[i] > hi ? hi : v[i]);
  }
};

}  // namespace bionn
