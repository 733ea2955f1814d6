#include "bindings/common.h"

namespace bionn {

void bind_neglu(py::module_& m) { (void)m; }

}  // namespace bionn
