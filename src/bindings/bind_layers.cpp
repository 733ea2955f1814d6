// Layer bindings: one class per layer and dtype (suffix _f32 / _f64). No logic here.
#include "bindings/common.h"
#include "layers/activations.h"
#include "layers/batchnorm.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/pooling.h"

namespace bionn {

namespace {

template <typename T>
void bind_parameter(py::module_& m) {
  using P = Parameter<T>;
  py::class_<P>(m, with_dtype<T>("Parameter").c_str())
      .def_readonly("name", &P::name)
      .def_readonly("tag", &P::tag)
      .def_readwrite("trainable", &P::trainable)
      .def_readonly("clamp_min", &P::clamp_min)
      .def_readonly("clamp_max", &P::clamp_max)
      .def("set_clamp", &P::set_clamp, py::arg("min"), py::arg("max"))
      .def_property_readonly("value", [](py::object self) { return view_of(self.cast<P&>().value, self); })
      .def_property_readonly("grad", [](py::object self) { return view_of(self.cast<P&>().grad, self); });
}

template <typename T>
void bind_all(py::module_& m) {
  bind_parameter<T>(m);
  py::class_<Layer<T>, std::shared_ptr<Layer<T>>>(m, with_dtype<T>("Layer").c_str())
      .def_property_readonly("kind", &Layer<T>::kind)
      .def(
          "forward",
          [](Layer<T>& l, const CArray<T>& x, bool training) {
            return to_numpy(l.forward_owned(to_tensor(x), training, global_rng()));
          },
          py::arg("x"), py::arg("training") = false)
      .def(
          "backward",
          [](Layer<T>& l, const CArray<T>& g) {
            Tensor<T> grad = to_tensor(g);
            return to_numpy(l.backward(grad, true));
          },
          py::arg("grad_output"))
      .def("num_parameters", [](Layer<T>& l) { return l.parameters().size(); })
      .def(
          "parameter", [](Layer<T>& l, size_t i) { return l.parameters().at(i); },
          py::return_value_policy::reference_internal, py::arg("index"))
      .def("buffer_names",
           [](Layer<T>& l) {
             std::vector<std::string> names;
             for (auto& b : l.buffers()) names.push_back(b.first);
             return names;
           })
      .def(
          "buffer",
          [](py::object self, const std::string& name) {
            for (auto& b : self.cast<Layer<T>&>().buffers())
              if (b.first == name) return view_of(*b.second, self);
            throw std::invalid_argument("no buffer named '" + name + "'");
          },
          py::arg("name"))
      .def("reset_parameters", [](Layer<T>& l) { l.reset_parameters(global_rng()); });

  layer_class<T, Dense<T>>(m, "Dense")
      .def(py::init([](int64_t in, int64_t out, bool bias, const std::string& init) {
             return std::make_shared<Dense<T>>(in, out, bias, init, global_rng());
           }),
           py::arg("in_features"), py::arg("out_features"), py::arg("bias") = true, py::arg("init") = "torch");
  layer_class<T, Conv2d<T>>(m, "Conv2d")
      .def(py::init([](int64_t cin, int64_t cout, int64_t kh, int64_t kw, int64_t stride, int64_t padding, bool bias,
                       const std::string& init) {
             return std::make_shared<Conv2d<T>>(cin, cout, kh, kw, stride, padding, bias, init, global_rng());
           }),
           py::arg("in_channels"), py::arg("out_channels"), py::arg("kernel_h"), py::arg("kernel_w"),
           py::arg("stride") = 1, py::arg("padding") = 0, py::arg("bias") = true, py::arg("init") = "torch");
  layer_class<T, Pool2d<T>>(m, "MaxPool2d")
      .def(py::init([](int64_t k, int64_t s, int64_t p) {
             return std::make_shared<Pool2d<T>>(Pool2d<T>::Mode::Max, k, s, p, true);
           }),
           py::arg("kernel_size"), py::arg("stride"), py::arg("padding") = 0);
  m.def(
      with_dtype<T>("AvgPool2d").c_str(),
      [](int64_t k, int64_t s, int64_t p, bool count_include_pad) {
        return std::static_pointer_cast<Layer<T>>(
            std::make_shared<Pool2d<T>>(Pool2d<T>::Mode::Avg, k, s, p, count_include_pad));
      },
      py::arg("kernel_size"), py::arg("stride"), py::arg("padding") = 0, py::arg("count_include_pad") = true);
  layer_class<T, GlobalAvgPool2d<T>>(m, "GlobalAvgPool2d").def(py::init<>());
  layer_class<T, BatchNorm<T>>(m, "BatchNorm")
      .def(py::init<int64_t, bool, double, double, bool>(), py::arg("num_features"), py::arg("spatial"),
           py::arg("eps") = 1e-5, py::arg("momentum") = 0.1, py::arg("affine") = true);
  layer_class<T, Dropout<T>>(m, "Dropout")
      .def(py::init<double, bool>(), py::arg("p") = 0.5, py::arg("channelwise") = false);
  layer_class<T, Flatten<T>>(m, "Flatten").def(py::init<>());
  layer_class<T, ReLU<T>>(m, "ReLU").def(py::init<>());
  layer_class<T, Sigmoid<T>>(m, "Sigmoid").def(py::init<>());
  layer_class<T, Tanh<T>>(m, "Tanh").def(py::init<>());
  m.def(with_dtype<T>("LeakyReLU").c_str(), &make_leaky_relu<T>, py::arg("negative_slope"));
  m.def(with_dtype<T>("ELU").c_str(), &make_elu<T>, py::arg("alpha"));
  m.def(with_dtype<T>("Softplus").c_str(), &make_softplus<T>, py::arg("beta"), py::arg("threshold"));
}

void bind_layers(py::module_& m) {
  bind_all<float>(m);
  bind_all<double>(m);
}

const Registration registration{"layers", &bind_layers, BindOrder::kCore};

}  // namespace

}  // namespace bionn
