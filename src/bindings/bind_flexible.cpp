// Flexible layer bindings (FlexibleConv2d), once per dtype. No logic here.
#include "bindings/common.h"
#include "layers/flexible.h"

namespace bionn {

namespace {

template <typename T>
void bind_flexible_dtype(py::module_& m) {
  using F = FlexibleConv2d<T>;
  layer_class<T, F>(m, "FlexibleConv2d")
      .def(py::init([](int64_t cin, int64_t cout, int64_t kh, int64_t kw, int64_t stride, int64_t padding,
                       int64_t pool_kernel, int64_t pool_stride, int64_t pool_padding, int64_t input_h, int64_t input_w,
                       const std::string& mode, double threshold, double scale, bool bias, const std::string& init) {
             FlexibleOptions o;
             o.in_channels = cin;
             o.out_channels = cout;
             o.kernel_h = kh;
             o.kernel_w = kw;
             o.stride = stride;
             o.padding = padding;
             o.pool_kernel = pool_kernel;
             o.pool_stride = pool_stride;
             o.pool_padding = pool_padding;
             o.input_h = input_h;
             o.input_w = input_w;
             o.threshold_mode = mode;
             o.threshold_init = threshold;
             o.scale = scale;
             o.bias = bias;
             o.init = init;
             return std::make_shared<F>(o, global_rng());
           }),
           py::arg("in_channels"), py::arg("out_channels"), py::arg("kernel_h"), py::arg("kernel_w"), py::arg("stride"),
           py::arg("padding"), py::arg("pool_kernel"), py::arg("pool_stride"), py::arg("pool_padding"),
           py::arg("input_h"), py::arg("input_w"), py::arg("threshold_mode"), py::arg("threshold"), py::arg("scale"),
           py::arg("bias"), py::arg("init"))
      .def("last_mask",
           [](F& f) {
             if (f.last_mask().ndim() == 0) throw py::value_error("mask() needs a forward pass first");
             return to_numpy(f.last_mask());
           })
      .def("last_conv",
           [](F& f) {
             if (f.last_conv().ndim() == 0) throw py::value_error("conv_output() needs a forward pass first");
             return to_numpy(f.last_conv());
           })
      .def("set_uniform_threshold", &F::set_uniform_threshold, py::arg("value"))
      .def_property_readonly("uniform_threshold", &F::uniform_threshold)
      .def_property_readonly("out_h", &F::out_h)
      .def_property_readonly("out_w", &F::out_w);
}

void bind_flexible(py::module_& m) {
  bind_flexible_dtype<float>(m);
  bind_flexible_dtype<double>(m);
}

const Registration registration{"flexible", &bind_flexible, BindOrder::kMechanism};

}  // namespace

}  // namespace bionn
