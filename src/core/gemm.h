// Matrix products parallelised by us rather than by Eigen: the output is cut into one block of
// columns (or rows) per thread and each block is a single-threaded Eigen GEMM. Compared with
// Eigen's own OpenMP GEMM this shares no packed buffers between threads (so nothing is allocated
// per call and no barrier waits on a busy core), and the partition depends only on the sizes and
// the thread count, so results are reproducible. Eigen itself is built with EIGEN_DONT_PARALLELIZE.
#pragma once
#include <Eigen/Core>
#include <cstdint>

#include "core/parallel.h"

namespace bionn {

// Caps the cache sizes Eigen plans its GEMM blocking for, so packed blocks fit under
// EIGEN_STACK_ALLOCATION_LIMIT (1 MiB) and live on the stack: no malloc per product.
void limit_gemm_blocking();

// dst = lhs * rhs (accumulate = false) or dst += lhs * rhs, for Eigen matrix expressions/maps.
template <typename Dst, typename Lhs, typename Rhs>
void gemm(Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
  const int64_t m = dst.rows(), n = dst.cols(), k = lhs.cols();
  const int nt = max_threads();
  // Below ~2 MFLOP a parallel region costs more than it saves (and batch-1 training lives there).
  if (nt == 1 || m * n * k < (int64_t(1) << 20) || in_parallel()) {
    if (accumulate)
      dst.noalias() += lhs * rhs;
    else
      dst.noalias() = lhs * rhs;
    return;
  }
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
        if (accumulate)
          d.noalias() += lhs * rhs.middleCols(a, b - a);
        else
          d.noalias() = lhs * rhs.middleCols(a, b - a);
      } else {
        auto d = dst.middleRows(a, b - a);
        if (accumulate)
          d.noalias() += lhs.middleRows(a, b - a) * rhs;
        else
          d.noalias() = lhs.middleRows(a, b - a) * rhs;
      }
    }
  }
}

}  // namespace bionn
