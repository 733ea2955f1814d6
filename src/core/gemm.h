// Matrix products parallelised by us rather than by Eigen: the output is cut into one block of
// columns (or rows) per thread and each block is a single-threaded Eigen GEMM. Compared with
// Eigen's own OpenMP GEMM this shares no packed buffers between threads (so nothing is allocated
// per call and no barrier waits on a busy core), and the partition depends only on the sizes and
// the thread count, so results are reproducible. Eigen itself is built with EIGEN_DONT_PARALLELIZE.
// With a BLAS loaded (core/blas.h, bionn.set_blas) each block is the library's GEMM instead.
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/blas.h"
#include "core/parallel.h"

namespace bionn {

// Caps the cache sizes Eigen plans its GEMM blocking for, so packed blocks fit under
// EIGEN_STACK_ALLOCATION_LIMIT (1 MiB) and live on the stack: no malloc per product.
void limit_gemm_blocking();

// One single-threaded Eigen GEMM, dst = lhs * rhs or dst += lhs * rhs.
template <typename Dst, typename Lhs, typename Rhs>
void gemm_block(Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
  if (accumulate)
    dst.noalias() += lhs * rhs;
  else
    dst.noalias() = lhs * rhs;
}

// gemm_block, cut so that Eigen's packed lhs block fits on the stack. Eigen computes a row-major
// dst as the transposed, column-major product, so its "rows" m are dst's columns then. When the
// depth k is blocked (kc < k) but n is not, computeProductBlockingSizes leaves mc = m, and a
// kc x m block over EIGEN_STACK_ALLOCATION_LIMIT is malloc'ed on every product (Dense(784, 800)
// at batch 128 on one thread: 400 x 800 floats). We then cut m ourselves into runs of a multiple
// of the kernel's mr rows, as Eigen's own mc blocking would: every dst element is still summed
// over the same kc panels in the same order, so the result is bit-identical.
// A loaded BLAS takes the block whole when it can (blas::gemm).
template <typename Dst, typename Lhs, typename Rhs>
void gemm_serial(Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
  if (blas::gemm(dst, lhs, rhs, accumulate)) return;
  using Scalar = typename std::decay_t<Dst>::Scalar;
  constexpr bool row_major = std::decay_t<Dst>::IsRowMajor;
  const Eigen::Index m = row_major ? dst.cols() : dst.rows(), n = row_major ? dst.rows() : dst.cols();
  Eigen::Index kc = lhs.cols(), mc = m, nc = n;
  if (n > 1 && m > 1)  // not a GEMV, which packs nothing
    Eigen::internal::computeProductBlockingSizes<Scalar, Scalar, 1>(kc, mc, nc, Eigen::Index(1));
  const Eigen::Index stack_elems = EIGEN_STACK_ALLOCATION_LIMIT / sizeof(Scalar);
  if (n <= 1 || m <= 1 || kc * mc <= stack_elems) return gemm_block(dst, lhs, rhs, accumulate);
  constexpr Eigen::Index mr = Eigen::internal::gebp_traits<Scalar, Scalar>::mr;
  const Eigen::Index run = std::max<Eigen::Index>(mr, stack_elems / kc / mr * mr);
  for (Eigen::Index a = 0; a < m; a += run) {
    const Eigen::Index len = std::min(run, m - a);
    if constexpr (row_major)
      gemm_block(dst.middleCols(a, len), lhs, rhs.middleCols(a, len), accumulate);
    else
      gemm_block(dst.middleRows(a, len), lhs.middleRows(a, len), rhs, accumulate);
  }
}

// dst = lhs * rhs (accumulate = false) or dst += lhs * rhs, for Eigen matrix expressions/maps.
template <typename Dst, typename Lhs, typename Rhs>
void gemm(Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
  const int64_t m = dst.rows(), n = dst.cols(), k = lhs.cols();
  const int nt = max_threads();
  // Below ~2 MFLOP a parallel region costs more than it saves (and batch-1 training lives there).
  if (nt == 1 || m * n * k < (int64_t(1) << 20) || in_parallel()) return gemm_serial(dst, lhs, rhs, accumulate);
  const bool split_cols = n >= m;
  const int64_t extent = split_cols ? n : m;
#pragma omp parallel num_threads(nt)
  {
    const int t = thread_id(), used = num_threads_in_region();
    // Edges on multiples of 16 keep blocks SIMD-friendly.
    const int64_t a = (extent * t / used) & ~int64_t(15);
    const int64_t b = t + 1 == used ? extent : (extent * (t + 1) / used) & ~int64_t(15);
    if (b > a) {
      if (split_cols) {
        auto d = dst.middleCols(a, b - a);
        gemm_serial(d, lhs, rhs.middleCols(a, b - a), accumulate);
      } else {
        auto d = dst.middleRows(a, b - a);
        gemm_serial(d, lhs.middleRows(a, b - a), rhs, accumulate);
      }
    }
  }
}

}  // namespace bionn
