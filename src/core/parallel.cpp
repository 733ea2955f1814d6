#include "core/parallel.h"

#include <Eigen/Core>
#include <stdexcept>

namespace bionn {

void set_num_threads(int n) {
  if (n <= 0) throw std::invalid_argument("set_num_threads: n must be positive");
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  Eigen::setNbThreads(n);
}

int get_num_threads() { return max_threads(); }

}  // namespace bionn
