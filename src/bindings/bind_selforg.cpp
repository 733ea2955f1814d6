// Bindings for the self-organizing network (src/selforg). The loops run with the GIL released and poll
// for Ctrl-C (PyInterruptScope). Python validates inputs first.
#include <Python.h>

#include "bindings/common.h"
#include "selforg/selforg.h"

namespace bionn {

namespace {

using namespace selforg;

template <typename T>
int64_t image_rows(const CArray<T>& images, const MapLayout& L) {
  if (images.ndim() != 2 || images.shape(1) != L.image_size())
    throw std::invalid_argument("images must have shape (n, " + std::to_string(L.image_size()) + ")");
  return images.shape(0);
}

template <typename T>
py::array_t<T> reshaped(const std::vector<T>& v, const std::vector<int64_t>& shape) {
  std::vector<py::ssize_t> s(shape.begin(), shape.end());
  py::array_t<T> out(s);
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

py::dict step_dict(const MetaStepResult& r) {
  py::dict d;
  d["accepted"] = r.accepted;
  d["unit"] = r.unit;
  d["candidates"] = r.candidates;
  d["entropy"] = r.entropy;
  d["candidate_entropy"] = r.candidate_entropy;
  return d;
}

template <typename T>
void bind_all(py::module_& m) {
  const std::string sfx = dtype_suffix<T>();
  py::class_<AEUnit<T>>(m, ("SelfOrgAEUnit" + sfx).c_str())
      .def(py::init<int64_t, int64_t>(), py::arg("map_size"), py::arg("n_hidden"))
      .def_property_readonly("map_size", &AEUnit<T>::map_size)
      .def_property_readonly("n_hidden", &AEUnit<T>::n_hidden)
      .def_property_readonly("field", &AEUnit<T>::field)
      .def_property_readonly("adam_steps", &AEUnit<T>::adam_steps)
      .def("set_field", &AEUnit<T>::set_field, py::arg("indices"))
      .def(
          "reset_parameters",
          [](AEUnit<T>& u, uint64_t seed, int64_t fan_in) {
            Rng rng(seed);
            u.reset_parameters(rng, fan_in);
          },
          py::arg("seed"), py::arg("fan_in"))
      .def(
          "forward",
          [](AEUnit<T>& u, const CArray<T>& maps, bool training, double dropout, uint64_t seed) {
            if (maps.ndim() != 2 || maps.shape(1) != u.map_size())
              throw std::invalid_argument("maps must have shape (batch, " + std::to_string(u.map_size()) + ")");
            Rng rng(seed);
            u.forward(maps.data(), maps.shape(0), training, dropout, &rng);
            py::array_t<T> out({maps.shape(0), static_cast<py::ssize_t>(u.n_hidden())});
            std::copy(u.hidden(), u.hidden() + maps.shape(0) * u.n_hidden(), out.mutable_data());
            return out;
          },
          py::arg("maps"), py::arg("training") = false, py::arg("dropout") = 0.0, py::arg("seed") = 0)
      .def("loss", &AEUnit<T>::loss, py::arg("l2") = 0.0)
      .def("backward", &AEUnit<T>::backward, py::arg("l2") = 0.0)
      .def("adam_step", &AEUnit<T>::adam_step, py::arg("options"))
      .def(
          "get", [](const AEUnit<T>& u, const std::string& n) { return reshaped(u.get(n), u.shape(n)); },
          py::arg("name"))
      .def(
          "grad", [](const AEUnit<T>& u, const std::string& n) { return reshaped(u.grad(n), u.shape(n)); },
          py::arg("name"))
      .def(
          "set",
          [](AEUnit<T>& u, const std::string& n, const CArray<T>& v) {
            u.set(n, std::vector<T>(v.data(), v.data() + v.size()));
          },
          py::arg("name"), py::arg("values"));

  using Net = SelfOrgNetwork<T>;
  py::class_<Net>(m, ("SelfOrgNetwork" + sfx).c_str())
      .def(py::init<const MapLayout&, const Fields&, const TrainOptions&, uint64_t>(), py::arg("layout"),
           py::arg("fields"), py::arg("options"), py::arg("seed"))
      .def_property_readonly("fields", &Net::fields)
      .def_property_readonly("layout", &Net::layout)
      .def_property_readonly("options", &Net::options)
      .def_property_readonly("epochs_trained", &Net::epochs_trained)
      .def("set_fields", &Net::set_fields, py::arg("fields"))
      .def("reset_parameters", &Net::reset_parameters)
      .def("unit", &Net::unit, py::arg("k"), py::return_value_policy::reference_internal)
      .def("copy",
           [](Net& n) {
             auto use = n.usage().read("copy");
             return Net(n);
           })
      .def(
          "fit",
          [](Net& net, const CArray<T>& images, int64_t epochs, const CArray<T>& entropy_images) {
            const int64_t n = image_rows(images, net.layout()), ne = image_rows(entropy_images, net.layout());
            std::vector<EpochStats> hist;
            {
              PyInterruptScope interrupt;
              py::gil_scoped_release release;
              hist = net.fit(images.data(), n, epochs, entropy_images.data(), ne);
            }
            py::list out;
            for (const auto& h : hist) out.append(py::make_tuple(h.loss, h.entropy));
            return out;
          },
          py::arg("images"), py::arg("epochs"), py::arg("entropy_images"))
      .def(
          "transform",
          [](Net& net, const CArray<T>& images, int64_t batch_size) {
            const int64_t n = image_rows(images, net.layout());
            py::array_t<T> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(net.n_units()),
                                static_cast<py::ssize_t>(net.n_hidden())});
            T* dst = out.mutable_data();
            PyInterruptScope interrupt;
            py::gil_scoped_release release;
            net.transform(images.data(), n, dst, batch_size);
            return out;
          },
          py::arg("images"), py::arg("batch_size") = 256)
      .def(
          "entropies",
          [](Net& net, const CArray<T>& images) {
            const int64_t n = image_rows(images, net.layout());
            PyInterruptScope interrupt;
            py::gil_scoped_release release;
            return net.entropies(images.data(), n);
          },
          py::arg("images"))
      .def(
          "feature_maps",
          [](Net& net, const CArray<T>& images) {
            const int64_t n = image_rows(images, net.layout());
            py::array_t<T> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(net.layout().height),
                                static_cast<py::ssize_t>(net.layout().width)});
            T* dst = out.mutable_data();
            PyInterruptScope interrupt;
            py::gil_scoped_release release;
            net.feature_maps(images.data(), n, dst);
            return out;
          },
          py::arg("images"));

  py::class_<MetaLearner<T>>(m, ("SelfOrgMetaLearner" + sfx).c_str())
      .def(py::init<const MetaOptions&, uint64_t>(), py::arg("options"), py::arg("seed"))
      .def(
          "step",
          [](MetaLearner<T>& meta, Net& net, const std::vector<double>& incumbent, const CArray<T>& images,
             const CArray<T>& entropy_images) {
            const int64_t n = image_rows(images, net.layout()), ne = image_rows(entropy_images, net.layout());
            MetaStepResult r;
            {
              PyInterruptScope interrupt;
              py::gil_scoped_release release;
              r = meta.step(net, incumbent, images.data(), n, entropy_images.data(), ne);
            }
            return step_dict(r);
          },
          py::arg("network"), py::arg("incumbent"), py::arg("images"), py::arg("entropy_images"));
}

void bind_selforg(py::module_& m) {
  py::class_<MapLayout>(m, "SelfOrgLayout")
      .def(py::init<>())
      .def_readwrite("height", &MapLayout::height)
      .def_readwrite("width", &MapLayout::width)
      .def_readwrite("image_row", &MapLayout::image_row)
      .def_readwrite("image_col", &MapLayout::image_col)
      .def_readwrite("image_height", &MapLayout::image_height)
      .def_readwrite("image_width", &MapLayout::image_width)
      .def_readwrite("window", &MapLayout::window)
      .def_readwrite("hidden_height", &MapLayout::hidden_height)
      .def_readwrite("hidden_width", &MapLayout::hidden_width)
      .def_readwrite("unit_locations", &MapLayout::unit_locations)
      .def("validate", &MapLayout::validate)
      .def("validate_fields", &MapLayout::validate_fields, py::arg("fields"))
      .def("field_indices", &MapLayout::field_indices, py::arg("windows"));
  py::class_<TrainOptions>(m, "SelfOrgTrainOptions")
      .def(py::init<>())
      .def_readwrite("lr", &TrainOptions::lr)
      .def_readwrite("beta1", &TrainOptions::beta1)
      .def_readwrite("beta2", &TrainOptions::beta2)
      .def_readwrite("eps", &TrainOptions::eps)
      .def_readwrite("l2", &TrainOptions::l2)
      .def_readwrite("dropout", &TrainOptions::dropout)
      .def_readwrite("batch_size", &TrainOptions::batch_size)
      .def_readwrite("bins", &TrainOptions::bins)
      .def_readwrite("shuffle", &TrainOptions::shuffle)
      .def("validate", &TrainOptions::validate);
  py::class_<MetaOptions>(m, "SelfOrgMetaOptions")
      .def(py::init<>())
      .def_readwrite("method", &MetaOptions::method)
      .def_readwrite("epochs_per_step", &MetaOptions::epochs_per_step)
      .def("validate", &MetaOptions::validate);
  m.def(
      "selforg_histogram_entropy",
      [](const CArray<double>& v, int64_t bins) { return histogram_entropy(v.data(), v.size(), bins); },
      py::arg("values"), py::arg("bins") = 100);
  m.def(
      "selforg_histogram_entropy_f32",
      [](const CArray<float>& v, int64_t bins) { return histogram_entropy_of(v.data(), v.size(), bins); },
      py::arg("values"), py::arg("bins") = 100);
  m.def(
      "selforg_random_fields",
      [](const MapLayout& L, int64_t windows, uint64_t seed) {
        Rng rng(seed);
        return random_fields(L, windows, rng);
      },
      py::arg("layout"), py::arg("windows_per_unit"), py::arg("seed"));
  m.def("selforg_neighbours", &neighbours, py::arg("layout"), py::arg("fields"), py::arg("unit"));
  m.def("selforg_accept_candidate", &accept_candidate, py::arg("candidate_entropy"), py::arg("incumbent_entropy"));
  bind_all<float>(m);
  bind_all<double>(m);
}

const Registration registration{"selforg", &bind_selforg, BindOrder::kMechanism};

}  // namespace

}  // namespace bionn
