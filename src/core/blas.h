// An optional BLAS behind gemm() (core/gemm.h): a CBLAS library such as OpenBLAS, opened at run
// time (dlopen) by bionn.set_blas(), never linked. Without one every product is Eigen's, the
// portable default; with one, each single-threaded GEMM block whose operands are dense views
// (unit inner stride) goes to the library's cblas_sgemm/cblas_dgemm instead. Threading stays ours:
// gemm() cuts the output into one block per OpenMP thread exactly as for Eigen, and the library is
// told to run each call on the calling thread (openblas_set_num_threads(1) where it has it), so
// the partition, and therefore the bits, depend only on the sizes and bionn's thread count.
#pragma once
#include <Eigen/Core>
#include <atomic>
#include <climits>
#include <cstdint>
#include <string>
#include <type_traits>

namespace bionn::blas {

// CBLAS enum values (cblas.h), spelled out so that no BLAS header is needed to build.
enum : int { kRowMajor = 101, kColMajor = 102, kNoTrans = 111, kTrans = 112 };

using sgemm_t = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using dgemm_t = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*,
                         int);

struct Library {
  sgemm_t sgemm = nullptr;
  dgemm_t dgemm = nullptr;
};

// The library in use, or null for Eigen. Swapped atomically; a product already running finishes
// with the library it started with (libraries are never closed).
extern std::atomic<const Library*> current;
// Products the library has computed since the process started (tests and show_config read it).
extern std::atomic<uint64_t> calls;

// Opens the shared library at `path` and uses its `<prefix>cblas_sgemm` / `<prefix>cblas_dgemm`
// (LP64: 32-bit ints), with prefix "" or "scipy_" (scipy-openblas32), whichever it exports.
// Returns the prefix found. Throws std::runtime_error naming the path when it cannot be opened or
// lacks the symbols; the library in use is then unchanged.
std::string load(const std::string& path);
// Back to Eigen.
void unload();
// The path given to the load() in effect, or "" for Eigen.
std::string loaded_path();
// Products with fewer multiply-adds stay with Eigen: a library call's fixed cost (argument checks,
// buffer bookkeeping) is a few microseconds, more than such a product takes.
inline constexpr int64_t kMinMultiplyAdds = int64_t(1) << 15;

namespace detail {

template <typename X>
constexpr bool direct_access() {
  return (Eigen::internal::traits<std::decay_t<X>>::Flags & Eigen::DirectAccessBit) != 0;
}

// The leading dimension of a dense view in BLAS terms, or -1 when BLAS cannot take it (a strided
// inner dimension, or sizes beyond a 32-bit int).
template <typename X>
int64_t leading_dim(const X& x) {
  if (x.innerStride() != 1) return -1;
  constexpr bool row_major = std::decay_t<X>::IsRowMajor;
  const int64_t inner = row_major ? x.cols() : x.rows();
  int64_t ld = x.outerStride();
  if (ld < inner) ld = inner;  // a single row/column view may report a shorter outer stride
  return ld > INT_MAX ? -1 : ld;
}

}  // namespace detail

// dst = lhs * rhs (or +=) through the library, on the calling thread. Returns false, touching
// nothing, when no library is in use or the product is not one it takes (then Eigen computes it).
template <typename Dst, typename Lhs, typename Rhs>
bool gemm(Dst& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
  using T = typename std::decay_t<Dst>::Scalar;
  if constexpr (!(std::is_same_v<T, float> || std::is_same_v<T, double>) || !detail::direct_access<Dst>() ||
                !detail::direct_access<Lhs>() || !detail::direct_access<Rhs>() ||
                !std::is_same_v<typename std::decay_t<Lhs>::Scalar, T> ||
                !std::is_same_v<typename std::decay_t<Rhs>::Scalar, T>) {
    return false;
  } else {
    const Library* lib = current.load(std::memory_order_acquire);
    if (lib == nullptr) return false;
    const int64_t m = dst.rows(), n = dst.cols(), k = lhs.cols();
    if (m < 2 || n < 2 || k < 1 || m > INT_MAX || n > INT_MAX || k > INT_MAX || m * n * k < kMinMultiplyAdds)
      return false;
    const int64_t ldc = detail::leading_dim(dst), lda = detail::leading_dim(lhs), ldb = detail::leading_dim(rhs);
    if (ldc < 0 || lda < 0 || ldb < 0) return false;
    // CBLAS takes the layout of C; an operand stored the other way round is passed transposed.
    constexpr bool row = std::decay_t<Dst>::IsRowMajor;
    const int layout = row ? kRowMajor : kColMajor;
    const int ta = std::decay_t<Lhs>::IsRowMajor == row ? kNoTrans : kTrans;
    const int tb = std::decay_t<Rhs>::IsRowMajor == row ? kNoTrans : kTrans;
    const T beta = accumulate ? T(1) : T(0);  // beta = 0: C is written, never read
    calls.fetch_add(1, std::memory_order_relaxed);
    if constexpr (std::is_same_v<T, float>)
      lib->sgemm(layout, ta, tb, int(m), int(n), int(k), 1.0f, lhs.data(), int(lda), rhs.data(), int(ldb), beta,
                 dst.data(), int(ldc));
    else
      lib->dgemm(layout, ta, tb, int(m), int(n), int(k), 1.0, lhs.data(), int(lda), rhs.data(), int(ldb), beta,
                 dst.data(), int(ldc));
    return true;
  }
}

}  // namespace bionn::blas
