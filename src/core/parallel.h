// Thin OpenMP wrappers so the core also builds without OpenMP (BIONN_OPENMP=OFF).
#pragma once
#include <cstdint>
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
inline bool in_parallel() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}
inline int num_threads_in_region() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}
// Splits [0, n) into one contiguous chunk per thread and calls f(start, count) on each; small
// ranges run inline, where a parallel region would cost more than it saves.
template <class F>
void parallel_chunks(int64_t n, F&& f, int64_t serial_below = 1 << 15) {
  const int nt = max_threads();
  if (n < serial_below || nt == 1) {
    if (n > 0) f(0, n);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = thread_id(), used = num_threads_in_region();
    // Chunk edges on multiples of 16 elements keep every chunk start aligned like the buffer.
    const int64_t a = (n * t / used) & ~int64_t(15), b = t + 1 == used ? n : (n * (t + 1) / used) & ~int64_t(15);
    if (b > a) f(a, b - a);
  }
}

// Sets the threads used by our kernels and by Eigen's GEMM.
void set_num_threads(int n);
int get_num_threads();

}  // namespace bionn
