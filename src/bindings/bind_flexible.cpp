#include "bindings/common.h"

namespace bionn {

void bind_flexible(py::module_& m) { (void)m; }

}  // namespace bionn
