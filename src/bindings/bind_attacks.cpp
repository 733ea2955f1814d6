#include "bindings/common.h"

namespace bionn {

void bind_attacks(py::module_& m) { (void)m; }

}  // namespace bionn
