#include "bindings/common.h"

namespace bionn {

void bind_amplifying(py::module_& m) { (void)m; }

}  // namespace bionn
