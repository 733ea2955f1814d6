// Thin OpenMP wrappers so the core also builds without OpenMP (BIONN_OPENMP=OFF).
#pragma once
#ifdef _OPENMP
#include <omp.h>
#endif

namespace bionn {

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}
inline int num_threads_in_region() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}
// Sets the threads used by our kernels and by Eigen's GEMM.
void set_num_threads(int n);
int get_num_threads();

}  // namespace bionn
