#include "core/parallel.h"

#include <Eigen/Core>

#include "core/gemm.h"

#include <stdexcept>

namespace bionn {

void limit_gemm_blocking() {
  static const bool done = [] {
    // L1 48 KiB, L2 384 KiB, L3 768 KiB: blocks of at most kc*mc, kc*nc floats well under 1 MiB.
    Eigen::setCpuCacheSizes(48 * 1024, 384 * 1024, 768 * 1024);
    return true;
  }();
  (void)done;
}

void set_num_threads(int n) {
  if (n <= 0) throw std::invalid_argument("set_num_threads: n must be positive");
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

int get_num_threads() { return max_threads(); }

}  // namespace bionn
