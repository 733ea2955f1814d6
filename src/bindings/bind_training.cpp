// Bindings for losses, optimizers, schedulers and Sequential. The loops run with the GIL released
// and poll for Ctrl-C (PyInterruptScope); fit's per-batch hook re-acquires the GIL only to call
// Python hooks.
#include <Python.h>

#include "bindings/common.h"
#include "core/losses.h"
#include "core/optim.h"
#include "core/sequential.h"

namespace bionn {

namespace {

template <typename T>
std::vector<ParamGroup<T>> make_groups(const std::vector<std::pair<std::vector<Parameter<T>*>, GroupOptions>>& in) {
  std::vector<ParamGroup<T>> groups;
  for (const auto& g : in) {
    ParamGroup<T> pg;
    pg.params = g.first;
    pg.options = g.second;
    groups.push_back(std::move(pg));
  }
  return groups;
}

template <typename T>
void bind_all(py::module_& m) {
  py::class_<Loss<T>, std::shared_ptr<Loss<T>>>(m, with_dtype<T>("Loss").c_str())
      .def_property_readonly("kind", &Loss<T>::kind)
      .def_property_readonly("is_classification", &Loss<T>::is_classification)
      .def(
          "forward",
          [](Loss<T>& l, const CArray<T>& pred, const CArray<T>& target) {
            Tensor<T> p = to_tensor(pred), t = to_tensor(target);
            return l.forward(p, t);
          },
          py::arg("pred"), py::arg("target"))
      .def("backward", [](Loss<T>& l) { return to_numpy(l.backward()); });
  py::class_<CrossEntropyLoss<T>, Loss<T>, std::shared_ptr<CrossEntropyLoss<T>>>(
      m, with_dtype<T>("CrossEntropyLoss").c_str())
      .def(py::init<double>(), py::arg("label_smoothing") = 0.0);
  py::class_<MSELoss<T>, Loss<T>, std::shared_ptr<MSELoss<T>>>(m, with_dtype<T>("MSELoss").c_str()).def(py::init<>());
  py::class_<L1Loss<T>, Loss<T>, std::shared_ptr<L1Loss<T>>>(m, with_dtype<T>("L1Loss").c_str()).def(py::init<>());
  py::class_<LinearSquareLoss<T>, Loss<T>, std::shared_ptr<LinearSquareLoss<T>>>(
      m, with_dtype<T>("LinearSquareLoss").c_str())
      .def(py::init<>());
  py::class_<BCEWithLogitsLoss<T>, Loss<T>, std::shared_ptr<BCEWithLogitsLoss<T>>>(
      m, with_dtype<T>("BCEWithLogitsLoss").c_str())
      .def(py::init<>());

  using Groups = std::vector<std::pair<std::vector<Parameter<T>*>, GroupOptions>>;
  py::class_<Optimizer<T>, std::shared_ptr<Optimizer<T>>>(m, with_dtype<T>("Optimizer").c_str())
      .def("step", &Optimizer<T>::step)
      .def("zero_grad", &Optimizer<T>::zero_grad)
      .def("reset_state", &Optimizer<T>::reset_state)
      .def("validate_options", &Optimizer<T>::validate_options)
      .def_property_readonly("kind", &Optimizer<T>::kind)
      .def_property_readonly("steps_taken", &Optimizer<T>::steps_taken)
      .def("num_groups", [](Optimizer<T>& o) { return o.groups().size(); })
      .def(
          "group_options", [](Optimizer<T>& o, size_t i) -> GroupOptions& { return o.groups().at(i).options; },
          py::return_value_policy::reference_internal)
      .def("group_initial_lr", [](Optimizer<T>& o, size_t i) { return o.groups().at(i).initial_lr; })
      .def("state_arrays", [](py::object self) {
        py::list out;
        for (auto* t : self.cast<Optimizer<T>&>().state_tensors()) out.append(view_of(*t, self));
        return out;
      });
  py::class_<SGD<T>, Optimizer<T>, std::shared_ptr<SGD<T>>>(m, with_dtype<T>("SGD").c_str())
      .def(py::init([](const Groups& g) { return std::make_shared<SGD<T>>(make_groups<T>(g)); }),
           py::keep_alive<1, 2>());
  py::class_<Adam<T>, Optimizer<T>, std::shared_ptr<Adam<T>>>(m, with_dtype<T>("Adam").c_str())
      .def(py::init([](const Groups& g) { return std::make_shared<Adam<T>>(make_groups<T>(g)); }),
           py::keep_alive<1, 2>());
  py::class_<RMSprop<T>, Optimizer<T>, std::shared_ptr<RMSprop<T>>>(m, with_dtype<T>("RMSprop").c_str())
      .def(py::init([](const Groups& g) { return std::make_shared<RMSprop<T>>(make_groups<T>(g)); }),
           py::keep_alive<1, 2>());

  py::class_<LRScheduler<T>, std::shared_ptr<LRScheduler<T>>>(m, with_dtype<T>("LRScheduler").c_str())
      .def("step", &LRScheduler<T>::step)
      .def_property_readonly("epoch", &LRScheduler<T>::epoch)
      .def("factor", &LRScheduler<T>::factor, py::arg("epoch"));
  py::class_<StepLR<T>, LRScheduler<T>, std::shared_ptr<StepLR<T>>>(m, with_dtype<T>("StepLR").c_str())
      .def(py::init<std::shared_ptr<Optimizer<T>>, int64_t, double>(), py::arg("optimizer"), py::arg("step_size"),
           py::arg("gamma"));
  py::class_<ExponentialLR<T>, LRScheduler<T>, std::shared_ptr<ExponentialLR<T>>>(
      m, with_dtype<T>("ExponentialLR").c_str())
      .def(py::init<std::shared_ptr<Optimizer<T>>, double>(), py::arg("optimizer"), py::arg("gamma"));

  using S = Sequential<T>;
  py::class_<S, std::shared_ptr<S>>(m, with_dtype<T>("Sequential").c_str())
      .def(py::init<std::vector<LayerPtr<T>>, uint64_t>(), py::arg("layers"), py::arg("seed"))
      // Held by Python code that writes the weights in place (load_state_dict): raises RuntimeError
      // while another thread uses the model, and keeps other threads out meanwhile.
      .def("begin_loading", [](S& s) { s.usage().begin_write("load_state_dict"); })
      .def("end_loading", [](S& s) { s.usage().end_write(); })
      .def("reseed", &S::reseed, py::arg("seed"))
      .def("reset_parameters", &S::reset_parameters)
      .def(
          "forward",
          [](S& s, const CArray<T>& x, bool training) {
            Tensor<T> t = to_tensor(x);
            const Tensor<T>* out;
            auto use = s.usage().write("forward");  // until the output is copied
            {
              PyInterruptScope interrupt;
              py::gil_scoped_release release;
              out = &s.forward_owned(std::move(t), training);
            }
            return to_numpy(*out);
          },
          py::arg("x"), py::arg("training") = false)
      .def(
          "backward",
          [](S& s, const CArray<T>& g) {
            Tensor<T> grad = to_tensor(g);
            auto use = s.usage().write("backward");
            return to_numpy(s.backward(grad, true));
          },
          py::arg("grad_output"))
      .def(
          "predict",
          [](S& s, const CArray<T>& x, int64_t bs) {
            auto v = to_view(x);
            Tensor<T> out;
            {
              PyInterruptScope interrupt;
              py::gil_scoped_release release;
              out = s.predict(v, bs);
            }
            return to_numpy(out);
          },
          py::arg("x"), py::arg("batch_size"))
      .def(
          "evaluate",
          [](S& s, const CArray<T>& x, const CArray<T>& y, Loss<T>& loss, int64_t bs) {
            auto vx = to_view(x), vy = to_view(y);
            PyInterruptScope interrupt;
            py::gil_scoped_release release;
            return s.evaluate(vx, vy, loss, bs);
          },
          py::arg("x"), py::arg("y"), py::arg("loss"), py::arg("batch_size"))
      .def(
          "input_gradient",
          [](S& s, const CArray<T>& x, const CArray<T>& y, Loss<T>& loss, bool training) {
            auto vx = to_view(x), vy = to_view(y);
            Tensor<T> g;
            {
              PyInterruptScope interrupt;
              py::gil_scoped_release release;
              g = s.input_gradient(vx, vy, loss, training);
            }
            return to_numpy(g);
          },
          py::arg("x"), py::arg("y"), py::arg("loss"), py::arg("training") = false)
      .def(
          "train_step",
          [](S& s, const CArray<T>& x, const CArray<T>& y, Loss<T>& loss, Optimizer<T>& opt) {
            Tensor<T> tx = to_tensor(x), ty = to_tensor(y);
            PyInterruptScope interrupt;
            py::gil_scoped_release release;
            return s.train_step(tx, ty, loss, opt);
          },
          py::arg("x"), py::arg("y"), py::arg("loss"), py::arg("optimizer"))
      .def(
          "fit",
          [](S& s, const CArray<T>& x, const CArray<T>& y, Loss<T>& loss, Optimizer<T>& opt, int epochs,
             int64_t batch_size, bool shuffle, bool drop_last, int64_t eval_batch_size, py::object val_x,
             py::object val_y, std::shared_ptr<LRScheduler<T>> scheduler, py::object on_batch, py::object on_epoch,
             bool replacement) {
            FitOptions o;
            o.epochs = epochs;
            o.batch_size = batch_size;
            o.shuffle = shuffle;
            o.replacement = replacement;
            o.drop_last = drop_last;
            o.eval_batch_size = eval_batch_size;
            CArray<T> vx, vy;
            DataView<T> dvx, dvy;
            const bool has_val = !val_x.is_none();
            if (has_val) {
              vx = val_x.cast<CArray<T>>();
              vy = val_y.cast<CArray<T>>();
              dvx = to_view(vx);
              dvy = to_view(vy);
            }
            FitHooks hooks;  // Ctrl-C: the loop polls (PyInterruptScope below), time-throttled
            if (!on_batch.is_none())
              hooks.on_batch = [&on_batch](int epoch, int64_t batch, int64_t batches, double value) {
                py::gil_scoped_acquire gil;
                on_batch(epoch, batch, batches, value);
              };
            if (!on_epoch.is_none())
              hooks.on_epoch = [&on_epoch](const EpochRecord& rec) {
                py::gil_scoped_acquire gil;
                return py::bool_(on_epoch(rec)).cast<bool>();
              };
            auto vxv = to_view(x), vyv = to_view(y);
            PyInterruptScope interrupt;
            py::gil_scoped_release release;
            return s.fit(vxv, vyv, loss, opt, o, has_val ? &dvx : nullptr, has_val ? &dvy : nullptr, scheduler.get(),
                         hooks);
          },
          py::arg("x"), py::arg("y"), py::arg("loss"), py::arg("optimizer"), py::arg("epochs"), py::arg("batch_size"),
          py::arg("shuffle") = true, py::arg("drop_last") = false, py::arg("eval_batch_size") = 1024,
          py::arg("val_x") = py::none(), py::arg("val_y") = py::none(), py::arg("scheduler") = nullptr,
          py::arg("on_batch") = py::none(), py::arg("on_epoch") = py::none(), py::arg("replacement") = false);

  (void)m;
}

void bind_training(py::module_& m) {
  py::class_<GroupOptions>(m, "GroupOptions")
      .def(py::init<>())
      .def_readwrite("lr", &GroupOptions::lr)
      .def_readwrite("weight_decay", &GroupOptions::weight_decay)
      .def_readwrite("clip_value", &GroupOptions::clip_value)
      .def_readwrite("momentum", &GroupOptions::momentum)
      .def_readwrite("dampening", &GroupOptions::dampening)
      .def_readwrite("nesterov", &GroupOptions::nesterov)
      .def_readwrite("beta1", &GroupOptions::beta1)
      .def_readwrite("beta2", &GroupOptions::beta2)
      .def_readwrite("amsgrad", &GroupOptions::amsgrad)
      .def_readwrite("decoupled_weight_decay", &GroupOptions::decoupled_weight_decay)
      .def_readwrite("bias_correction", &GroupOptions::bias_correction)
      .def_readwrite("eps_inside_sqrt", &GroupOptions::eps_inside_sqrt)
      .def_readwrite("decay_after_step", &GroupOptions::decay_after_step)
      .def_readwrite("alpha", &GroupOptions::alpha)
      .def_readwrite("eps", &GroupOptions::eps)
      .def_readwrite("centered", &GroupOptions::centered);
  bind_all<float>(m);
  bind_all<double>(m);
}

const Registration registration{"training", &bind_training, BindOrder::kTraining};

}  // namespace

}  // namespace bionn
