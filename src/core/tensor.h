// Tensor: a contiguous, row-major array of up to four dimensions (N, C, H, W).
// Buffers are resized, never shrunk, so steady-state training allocates nothing.
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/limits.h"

namespace bionn {

struct Shape {
  std::array<int64_t, 4> dims{{0, 0, 0, 0}};
  int ndim = 0;

  Shape() = default;
  Shape(std::initializer_list<int64_t> d) {
    if (d.size() > 4) throw std::invalid_argument("Shape: at most 4 dimensions are supported");
    for (int64_t v : d) dims[ndim++] = v;
  }
  // Rejects shapes whose element count overflows int64 (numel() would wrap around).
  void check_size() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i)
      if (__builtin_mul_overflow(n, dims[static_cast<size_t>(i)], &n))
        throw std::invalid_argument("shape " + str() + " has too many elements");
  }
  static Shape from_vector(const std::vector<int64_t>& d) {
    if (d.size() > 4 || d.empty())
      throw std::invalid_argument("Shape: expected 1 to 4 dimensions, got " + std::to_string(d.size()));
    Shape s;
    for (int64_t v : d) {
      if (v < 0) throw std::invalid_argument("Shape: negative dimension");
      s.dims[s.ndim++] = v;
    }
    return s;
  }
  int64_t operator[](int i) const { return dims[static_cast<size_t>(i)]; }
  int64_t numel() const {
    if (ndim == 0) return 0;
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= dims[static_cast<size_t>(i)];
    return n;
  }
  // Number of elements per sample (everything after the batch dimension).
  int64_t sample_numel() const {
    int64_t n = 1;
    for (int i = 1; i < ndim; ++i) n *= dims[static_cast<size_t>(i)];
    return n;
  }
  Shape with_batch(int64_t n) const {
    Shape s = *this;
    s.dims[0] = n;
    return s;
  }
  std::vector<int64_t> to_vector() const { return std::vector<int64_t>(dims.begin(), dims.begin() + ndim); }
  bool operator==(const Shape& o) const {
    if (ndim != o.ndim) return false;
    for (int i = 0; i < ndim; ++i)
      if (dims[static_cast<size_t>(i)] != o.dims[static_cast<size_t>(i)]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const {
    std::string s = "(";
    for (int i = 0; i < ndim; ++i) {
      if (i) s += ", ";
      s += std::to_string(dims[static_cast<size_t>(i)]);
    }
    if (ndim == 1) s += ",";
    return s + ")";
  }
};

// Storage is aligned to EIGEN_MAX_ALIGN_BYTES. Beyond speed this is what makes results
// reproducible: Eigen peels the unaligned head of a vectorised loop off to scalar code (whose exp,
// sums, ... round differently), so a buffer's address must not decide which elements take which path.
template <typename T>
using AlignedVector = std::vector<T, Eigen::aligned_allocator<T>>;

template <typename T>
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(const Shape& s) { resize(s); }
  Tensor(const Shape& s, T fill) : shape_(s) {
    s.check_size();
    data_.assign(static_cast<size_t>(s.numel()), fill);
  }

  // Resizes without releasing capacity: a smaller last batch does not reallocate the next one.
  // Growing is checked first (no cost in the steady state, which never grows): an element count
  // that overflows, or bytes beyond this machine's memory (limits.h), throw std::length_error
  // (ValueError in Python) naming the shape, before anything is allocated or changed.
  void resize(const Shape& s) {
    int64_t n = s.ndim ? 1 : 0;
    bool overflow = false;
    for (int i = 0; i < s.ndim; ++i) overflow |= __builtin_mul_overflow(n, s.dims[static_cast<size_t>(i)], &n);
    if (overflow || n < 0 || static_cast<size_t>(n) > data_.capacity()) check_growth(s, overflow ? -1 : n);
    data_.resize(static_cast<size_t>(n));
    shape_ = s;
  }
  void zero() { std::fill(data_.begin(), data_.end(), T(0)); }
  void fill(T v) { std::fill(data_.begin(), data_.end(), v); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  int64_t size() const { return static_cast<int64_t>(data_.size()); }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i]; }
  int ndim() const { return shape_.ndim; }
  int64_t batch() const { return shape_.ndim ? shape_[0] : 0; }
  T& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  const T& operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }
  // Keeps the elements, changes the view (sizes must agree).
  void reshape(const Shape& s) {
    if (s.numel() != shape_.numel()) throw std::invalid_argument("reshape: element count mismatch");
    shape_ = s;
  }

 private:
  static void check_growth(const Shape& s, int64_t n) {
    const std::string what = "an activation of shape " + s.str() + " for this input";
    if (n < 0) throw std::length_error(what + " has more elements than a 64-bit count holds");
    int64_t bytes = 0;
    const int64_t limit = memory_limit_bytes();
    const bool wraps = __builtin_mul_overflow(n, static_cast<int64_t>(sizeof(T)), &bytes);
    if (wraps || bytes > limit)
      throw std::length_error(what + " = " + std::to_string(n) + " elements needs " +
                              (wraps ? std::string("more than 2^63") : std::to_string(bytes)) +
                              " bytes, more than the " + std::to_string(limit) +
                              " bytes this machine allows (physical memory, or $BIONN_MAX_BYTES)");
  }

  Shape shape_;
  AlignedVector<T> data_;
};

}  // namespace bionn
