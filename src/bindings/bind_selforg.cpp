#include "bindings/common.h"

namespace bionn {

void bind_selforg(py::module_& m) { (void)m; }

}  // namespace bionn
